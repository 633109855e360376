"""Sequencing reads: one dataset per file."""

from .single_file import SingleFileData


class SequencingData(SingleFileData):
    """A sequencing file (``.fastq``, ``.fastq.gz``, ``.bam``...).

    The extensions are the config's ``sequencing_extensions``; paired reads
    (``sample_R1.fastq.gz``, ``sample_R2.fastq.gz``) are two datasets.
    """

    DATASET_TYPE = "sequencing"
    EXTENSIONS_SETTING = "sequencing_extensions"
