"""The demo: what a day of experiments looks like in the database."""

from . import main
from .api.tree import project_tree
from .errors import FlexilimsError

MOUSE = "PZAH6.4b"


def _check_only_demo_data(session, project: str) -> None:
    """Refuse a project holding entities other than the demo's (one request)."""
    others = [
        entity["name"]
        for entity in session.get(None)
        if entity["name"] != MOUSE and not entity["name"].startswith(f"{MOUSE}_")
    ]
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        count = f"{len(others)} {'entity' if len(others) == 1 else 'entities'}"
        raise FlexilimsError(
            f"Project {project} holds data of its own ({count}: "
            f"{shown}); the demo adds its fake mouse to an empty project or to "
            "its own only. Run `flexiznam demo` (project demo), or give an empty "
            "project with --project."
        )


def _path(entity) -> str:
    """``path`` of a new entity's reply (a dict) or of an existing one (a Series)."""
    return entity["attributes"]["path"] if isinstance(entity, dict) else entity["path"]


def run_demo(project: str = "demo") -> str:
    """Fill ``project`` with one mouse's experiments and return the tree.

    Everything is added with ``skip`` conflicts, so running it twice changes
    nothing. A project that holds other data is refused: the demo's data is
    made up.

    Raises
    ------
    FlexilimsError
        The project holds entities the demo did not add.
    """
    session = main.get_flexilims_session(project)
    _check_only_demo_data(session, project)
    main.add_mouse(
        MOUSE,
        project,
        flexilims_session=session,
        attributes={"birth_date": "2021-02-01", "sex": "female", "genotype": "Ai95"},
    )
    day = main.add_experimental_session(
        MOUSE, "2021-04-20", flexilims_session=session, conflicts="skip"
    )
    for name, protocol, kind in (
        ("R101512", "retinotopy", "two_photon"),
        ("R112030", "sparse_noise", "two_photon"),
    ):
        recording = main.add_recording(
            day["id"],
            kind,
            protocol,
            recording_name=f"{name}_{protocol}",
            flexilims_session=session,
            conflicts="skip",
        )
        folder = (
            recording["attributes"]["path"]
            if isinstance(recording, dict)
            else (recording["path"])
        )
        for dataset_type in ("scanimage", "camera", "harp"):
            main.add_dataset(
                recording["id"],
                dataset_type,
                "2021-04-20 10:15:12",
                f"{folder}/{dataset_type}",
                flexilims_session=session,
                dataset_name=f"{dataset_type}_0",
                conflicts="skip",
            )
    mouse_id = main.get_id(MOUSE, flexilims_session=session)
    brain = main.add_sample(
        mouse_id,
        attributes={"sample_type": "brain"},
        sample_name="brain",
        flexilims_session=session,
    )
    slice_ = main.add_sample(
        brain["id"], sample_name="slice_01", flexilims_session=session
    )
    main.add_dataset(
        slice_["id"],
        "microscopy",
        "2021-05-02 16:03:44",
        f"{_path(slice_)}/overview.czi",
        dataset_name="microscopy_0",
        flexilims_session=session,
        conflicts="skip",
    )
    return project_tree(session, MOUSE)
