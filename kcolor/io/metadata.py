"""The EXIF and ICC metadata of a photo that an output should carry.

:func:`metadata_of` picks, from an upright (EXIF-transposed) ``PIL.Image``, the EXIF tags
describing the photo (camera, date, author, place ...) and its ICC profile;
:func:`kcolor.io.load_image` puts them into its ``metadata`` dict and
:func:`kcolor.io.save_image` writes them back.

Example:
    >>> from PIL import Image
    >>> from kcolor.io.metadata import metadata_of
    >>> metadata_of(Image.new("RGB", (2, 2)))
    {}
"""

from __future__ import annotations

from PIL import Image

__all__ = ["metadata_of"]

_EXIF_IFD, _GPS_IFD, _INTEROP_POINTER = 0x8769, 0x8825, 0xA005

#: The IFD0 tags carried into outputs: those describing the photo (camera, date, author,
#: resolution, Windows XP fields, rating) and the Exif and GPS sub-IFDs. Not Orientation (the
#: pixels are upright), nor any tag about a file's layout (a TIFF's size, strips, sample
#: format ...: its ``getexif()`` holds those too), nor JPEG's IFD1 thumbnail.
_EXIF_IFD0_TAGS = frozenset(
    {
        0x010E,
        0x010F,
        0x0110,
        0x011A,
        0x011B,
        0x0128,
        0x0131,
        0x0132,
        0x013B,
        0x013C,
        0x4746,
        0x4749,
        0x8298,
        0x9C9B,
        0x9C9C,
        0x9C9D,
        0x9C9E,
        0x9C9F,
    }
)


def metadata_of(im: Image.Image) -> dict:
    """``{"exif": bytes, "icc_profile": bytes}`` of an upright (exif-transposed) image,
    each key only when there is one. The EXIF keeps the IFD0 tags of
    :data:`_EXIF_IFD0_TAGS` and the Exif and GPS sub-IFDs (date taken, camera, lens,
    exposure, place ...): no Orientation, no layout tags, no thumbnail (it would show the
    original photo, unturned).

    Args:
        im: an opened, loaded ``PIL.Image`` (its pixels already turned upright).

    Returns:
        A dict with the keys ``"exif"`` and ``"icc_profile"`` (bytes), each present only
        when the image has one.

    Example:
        >>> from PIL import Image
        >>> im = Image.new("RGB", (2, 2))
        >>> im.getexif()[0x0110] = "Camera"  # Model: kept
        >>> im.getexif()[0x0112] = 6  # Orientation: left out
        >>> kept = Image.Exif()
        >>> kept.load(metadata_of(im)["exif"])
        >>> dict(kept)
        {272: 'Camera'}
    """
    out = {}
    icc = im.info.get("icc_profile")
    if icc:
        out["icc_profile"] = bytes(icc)
    try:
        exif = im.getexif()
        kept = Image.Exif()
        for tag, value in exif.items():
            if tag in _EXIF_IFD0_TAGS:
                kept[tag] = value
        for pointer in (_EXIF_IFD, _GPS_IFD):
            sub = {k: v for k, v in exif.get_ifd(pointer).items() if k != _INTEROP_POINTER}
            if sub:
                kept.get_ifd(pointer).update(sub)
        if len(kept) or any(kept.get_ifd(p) for p in (_EXIF_IFD, _GPS_IFD)):
            out["exif"] = kept.tobytes()
    except Exception:  # noqa: BLE001 - a mangled EXIF block only costs the metadata
        pass
    return out
