"""``kcolor serve``: a local web page to colour photos, and a small HTTP API.

* :func:`kcolor.serve.app.create_app` - the Starlette application (the page and the API);
* :mod:`kcolor.serve.clips` - short clips: upload, progress, the colour video;
* :mod:`kcolor.serve.cli` - the ``kcolor serve`` sub-command (uvicorn).

It needs the ``serve`` extra: ``pip install "kcolor[serve]"``. Importing this package
imports neither the web framework nor Keras: :mod:`kcolor.serve.app` does.

Example:
    >>> from kcolor.serve.app import create_app   # doctest: +SKIP
    >>> app = create_app("beta-photos")             # doctest: +SKIP
"""
