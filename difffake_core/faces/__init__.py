"""Face finding, 68-point landmark layout and face crops (MediaPipe Tasks)."""

from difffake_core.faces.assets import resolve_face_model
from difffake_core.faces.crop import FaceCrop, crop_box, crop_face, decode_crop, encode_crop
from difffake_core.faces.layout68 import MEDIAPIPE_TO_68, REGIONS_68

__all__ = [
    "MEDIAPIPE_TO_68",
    "REGIONS_68",
    "FaceCrop",
    "crop_box",
    "crop_face",
    "decode_crop",
    "encode_crop",
    "resolve_face_model",
]
