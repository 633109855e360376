"""One client process of the concurrency test: adds datasets with
``conflicts='append'`` under one recording and prints what happened as JSON.

Usage: python append_worker.py BASE_URL PROJECT_ID RECORDING_ID COUNT
"""

import json
import sys

import flexiznam.main as flz
from flexilims import Flexilims


def main(base_url: str, project_id: str, recording_id: str, count: int) -> dict:
    session = Flexilims("tester", "tester-password", project_id, base_url=base_url)
    created, errors = [], []
    for index in range(count):
        try:
            reply = flz.add_dataset(
                recording_id,
                "scanimage",
                "2021-04-20 10:15:12",
                f"data/scan_{index}",
                flexilims_session=session,
            )
            created.append(reply["name"])
        except Exception as error:  # noqa: BLE001 - reported to the test
            errors.append(repr(error))
    return {"created": created, "errors": errors}


if __name__ == "__main__":
    url, project, recording, number = sys.argv[1:5]
    print(json.dumps(main(url, project, recording, int(number))))
