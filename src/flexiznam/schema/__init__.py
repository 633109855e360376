"""Dataset classes: find datasets in folders, describe them on the database.

Importing the package registers the lab's dataset types in
``Dataset.SUBCLASSES``: scanimage, camera, harp, microscopy, sequencing,
visstim and onix.
"""

from .camera_data import CameraData
from .datasets import Dataset
from .harp_data import HarpData
from .microscopy_data import MicroscopyData
from .onix_data import OnixData
from .scanimage_data import ScanimageData
from .sequencing_data import SequencingData
from .single_file import SingleFileData
from .visstim_data import VisStimData

__all__ = [
    "CameraData",
    "Dataset",
    "HarpData",
    "MicroscopyData",
    "OnixData",
    "ScanimageData",
    "SequencingData",
    "SingleFileData",
    "VisStimData",
]
