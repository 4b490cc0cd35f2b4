"""A planned sequence (:mod:`.plan`) as an Open Job Description job bundle: the job
template (``template.json``, specification ``jobtemplate-2023-09``) and its parameter
values (``parameter_values.json``, as AWS Deadline Cloud reads a bundle, and
``openjd_parameters.json``, as ``openjd run BUNDLE/template.json -p
file://BUNDLE/openjd_parameters.json`` reads them to run it on this machine). Deadline
Cloud takes the folder as it is.

One step per generate task — ``genvfx generate SHOT --node NODE --frames JOB --chunk
SHARE`` — depending on the steps of the tasks it waits for (a node's chunks one after
the other: they write one folder), and one step per shot running ``genvfx render SHOT
--frames JOB`` after the shot's nodes. The shots and the composites' folders are job
parameters of type PATH, so a farm maps them to its own storage; ``GenvfxCommand`` is
the command as the farm's machines find it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ...errors import BadInput
from .plan import GENERATE, Task, frames_text

SPECIFICATION = "jobtemplate-2023-09"
TEMPLATE_NAME = "template.json"
VALUES_NAME = "parameter_values.json"          # as AWS Deadline Cloud reads a bundle
OPENJD_VALUES_NAME = "openjd_parameters.json"  # as ``openjd run -p file://…`` reads them
NAME_LIMIT = 64  # characters in a job or step name


def _name(text: str) -> str:
    """A step or job name: printable ASCII, at most :data:`NAME_LIMIT` characters."""
    text = re.sub(r"[^\x20-\x7e]+", "-", text).strip() or "step"
    return text[:NAME_LIMIT]


def _literal(text: str, what: str) -> str:
    """``text`` as a template string that means itself (``{{`` would start an expression)."""
    if "{{" in text or "}}" in text:
        raise BadInput(f"The {what} '{text}' holds '{{{{' or '}}}}', which a job template reads as an expression",
                       "Rename it.")
    return text


def job_template(tasks: list[Task], genvfx: str = "genvfx", composites: dict[str, str] | None = None,
                 name: str = "genvfx sequence") -> tuple[dict, dict]:
    """The job template of ``tasks`` and its parameter values (``{name: value}``);
    ``composites``: shot name -> the folder its composite frames go to (default: the
    scene's output path). PATH parameters have no default (the specification allows only
    paths inside the bundle's folder): their values are the parameter values."""
    composites = composites or {}
    shots: dict[str, int] = {}  # shot name -> its number among the parameters
    parameters = [{"name": "GenvfxCommand", "type": "STRING", "default": genvfx, "minLength": 1,
                   "description": "The genvfx command on the farm's machines (a name on PATH or a full path)."}]
    values = {"GenvfxCommand": genvfx}
    for task in tasks:
        if task.shot in shots:
            continue
        number = shots[task.shot] = len(shots) + 1
        parameters.append({"name": f"Shot{number}", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
                           "description": f"The .blend of shot {task.shot}."})
        values[f"Shot{number}"] = task.blend
        if task.shot in composites:
            parameters.append({"name": f"Composites{number}", "type": "PATH", "objectType": "DIRECTORY",
                               "dataFlow": "OUT",
                               "description": f"Where the composite frames of shot {task.shot} go."})
            values[f"Composites{number}"] = composites[task.shot]

    step_names: dict[str, str] = {}
    steps = []
    for task in tasks:
        number = shots[task.shot]
        if task.kind == GENERATE:
            label = f"{task.id} {task.shot} {task.node} {frames_text(task.frames)}"
            args = ["generate", f"{{{{Param.Shot{number}}}}}", "--node", _literal(task.node, "node name"),
                    "--frames", frames_text(task.job_frames), "--chunk", frames_text(task.frames)]
        else:
            label = f"{task.id} {task.shot} render"
            args = ["render", f"{{{{Param.Shot{number}}}}}", "--frames", frames_text(task.job_frames)]
            if task.shot in composites:
                args += ["--out", f"{{{{Param.Composites{number}}}}}"]
        step_names[task.id] = _name(label)
        step = {"name": step_names[task.id],
                "script": {"actions": {"onRun": {"command": "{{Param.GenvfxCommand}}", "args": args}}}}
        if task.after:
            step["dependencies"] = [{"dependsOn": step_names[up]} for up in task.after]
        steps.append(step)
    template = {"specificationVersion": SPECIFICATION, "name": _name(name),
                "parameterDefinitions": parameters, "steps": steps}
    return template, values


def write_bundle(folder: str | Path, template: dict, values: dict) -> Path:
    """Write the bundle into ``folder`` (made if needed): the template, and the parameter
    values twice — as Deadline Cloud and as ``openjd run`` read them. Returns the
    template's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TEMPLATE_NAME).write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    listed = {"parameterValues": [{"name": name, "value": value} for name, value in values.items()]}
    (folder / VALUES_NAME).write_text(json.dumps(listed, indent=2) + "\n", encoding="utf-8")
    (folder / OPENJD_VALUES_NAME).write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    return folder / TEMPLATE_NAME


def run_command(template: Path) -> list[str]:
    """The command that runs the bundle of ``template`` on this machine (openjd-cli)."""
    return ["openjd", "run", str(template), "-p", f"file://{template.parent / OPENJD_VALUES_NAME}"]
