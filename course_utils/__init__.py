"""course_utils: the small helper package shared by every notebook of the course.

Light to import: PyTorch, TensorFlow and ipywidgets are imported only by the
modules that need them (`training`, `widgets`, `playground`).
"""

from course_utils.checks import (
    check_close,
    check_dtype,
    check_finite,
    check_shape,
    check_type,
    compare,
    gradient_check,
    numerical_gradient,
    rel_error,
)
from course_utils.data import (
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_sample_images,
    load_text,
)
from course_utils.report import note_data, record
from course_utils.setup import choose_device, import_tensorflow, seed_everything, setup_notebook

__version__ = "0.1.0"

__all__ = [
    "check_close",
    "check_dtype",
    "check_finite",
    "check_shape",
    "check_type",
    "choose_device",
    "import_tensorflow",
    "compare",
    "gradient_check",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_sample_images",
    "load_text",
    "note_data",
    "numerical_gradient",
    "record",
    "rel_error",
    "seed_everything",
    "setup_notebook",
]
