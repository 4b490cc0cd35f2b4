"""The worker never dies and never stops answering: hostile and malformed requests.

The worker's request loop runs in-process (``Worker.serve`` reads any iterable of lines
and writes to any text stream), so every request is fed and every reply read without a
subprocess; one test runs the real ``genvfx worker`` process for what only it does
(stdin bytes, stdout kept for the protocol, the exit code).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genvfx.backend.process import protocol
from genvfx.backend.process.client import BOOTSTRAP, PACKAGE_ROOT
from genvfx.backend.process.worker import Worker

ERROR_FIELDS = {"type", "job_id", "kind", "message", "hint", "frame"}


def serve(lines: list[str]) -> list[dict]:
    """Feed ``lines`` to a worker, then a ping; every reply once all jobs have ended, less
    the ping's pong (jobs run on their own thread, so it may come before their replies)."""
    out = io.StringIO()
    Worker(out).serve(iter([*lines, json.dumps(protocol.ping())]))
    text = out.getvalue()
    assert text.endswith("\n")
    replies = [well_formed(line) for line in text.splitlines()]
    pongs = [index for index, reply in enumerate(replies) if reply["type"] == "pong"]
    assert pongs, "the worker stopped answering"
    del replies[pongs[-1]]
    return replies


def well_formed(line: str) -> dict:
    """One protocol line: a JSON object (no NaN) of a known event type with its fields."""
    reply = json.loads(line, parse_constant=lambda token: pytest.fail(f"{token} in a reply: {line}"))
    assert isinstance(reply, dict) and reply.get("type") in protocol.EVENTS, line
    if reply["type"] == "error":
        assert set(reply) == ERROR_FIELDS, line
        assert isinstance(reply["kind"], str) and isinstance(reply["message"], str) and reply["message"]
        assert isinstance(reply["hint"], str)
    return reply


def one_error(lines: list[str], field: str, job_id=None) -> dict:
    replies = serve(lines)
    assert len(replies) == 1, replies
    error = replies[0]
    assert error["type"] == "error" and error["kind"] == "bad_request", error
    assert field in error["message"] and error["hint"], error
    assert error["job_id"] == job_id
    return error


@pytest.mark.parametrize("request_line, field", [
    ('{"op":"run","job":{}}', "job_id"),
    ('{"op":"run","job_id":"a"}', "job"),
    ('{"op":"run","job_id":"a","job":[1]}', "job"),
    ('{"op":"cancel"}', "job_id"),
    ('{"op":"cancel","job_id":[1]}', "job_id"),
    ('{"op":"cancel","job_id":true}', "job_id"),
    ('{"op":"run","job_id":{"a":1},"job":{}}', "job_id"),
    ('{"op":"run","job_id":NaN,"job":{}}', "job_id"),
    ('{"op":"run","job_id":1.5,"job":{}}', "job_id"),
    ('{"op":["ping"]}', "op"),
    ('{"op":"launch"}', "op"),
    ('{}', "op"),
])
def test_a_malformed_request_gets_one_error_naming_the_field(request_line, field):
    if '"job_id":"a"' in request_line:  # the job is named: its error says which
        replies = serve([request_line])
        assert [(r["type"], r["kind"], r["job_id"]) for r in replies] == [("error", "bad_request", "a")]
        assert field in replies[0]["message"]
    else:
        one_error([request_line], field)


def test_a_line_that_is_not_a_request_gets_one_error():
    for line in ("[" * 100_000 + "]" * 100_000, "[" * 100_000, "not json", "[1, 2]", '"ping"', "1e999999"):
        error = one_error([line], "request")
        assert len(error["message"]) < 400


def test_a_bad_job_id_does_not_stop_later_jobs():
    bad = ['{"op":"run","job_id":{"x":1},"job":{}}', '{"op":"run","job_id":NaN,"job":{}}',
           '{"op":"run","job_id":Infinity,"job":{"generator":"fill"}}']
    later = json.dumps(protocol.run("later", minimal_job(generator="no-such")))
    replies = serve([*bad, later])
    assert [r["job_id"] for r in replies] == [None, None, None, "later"]
    assert replies[-1]["kind"] == "bad_input" and "Unknown generator" in replies[-1]["message"]


def minimal_job(**fields) -> dict:
    return {"generator": "fill", "inputs": {"plate": "/nowhere/p.####.exr", "mask": "/nowhere/m.png"},
            "frames": [1], "cache_dir": "/nowhere/cache", **fields}


@pytest.mark.parametrize("fields, field", [
    ({"frames": "abc"}, "frames"),
    ({"frames": [1, "2"]}, "frames"),
    ({"frames": [True]}, "frames"),
    ({"frames": [1.5]}, "frames"),
    ({"frames": [-5]}, "frames"),
    ({"frames": [10**18]}, "frames"),
    ({"seed": "x"}, "seed"),
    ({"seed": 1.0}, "seed"),
    ({"proxy": "abc"}, "proxy"),
    ({"proxy": "0.5"}, "proxy"),
    ({"params": [1, 2]}, "params"),
    ({"inputs": ["plate"]}, "inputs"),
    ({"inputs": {"plate": 5}}, "inputs"),
    ({"generator": 3}, "generator"),
    ({"cache_dir": {}}, "cache_dir"),
    ({"model": None}, "model"),
    ({"device": 0}, "device"),
    ({"output_dir_override": []}, "output_dir_override"),
])
def test_wrong_field_types_are_the_callers_mistake(fields, field):
    job = minimal_job(**fields)
    replies = serve([json.dumps(protocol.run("j", job))])
    assert len(replies) == 1, replies
    error = replies[0]
    assert (error["type"], error["kind"], error["job_id"]) == ("error", "bad_request", "j"), error
    assert f"'{field}'" in error["message"] and error["hint"]
    assert "genvfx bug" not in error["hint"]


def test_missing_job_fields_are_named():
    replies = serve([json.dumps(protocol.run(7, {"generator": "fill"}))])
    assert [(r["kind"], r["job_id"]) for r in replies] == [("bad_request", 7)]
    assert "'inputs'" in replies[0]["message"] and "'frames'" in replies[0]["message"]


def test_a_job_whose_reply_cannot_be_written_still_gets_one_reply_and_the_next_job_runs(monkeypatch):
    from genvfx.backend.process import worker as worker_module
    from genvfx.errors import BadInput

    def broken_run_job(job, events, *args):  # a bug puts a frame that is not JSON into the error
        raise BadInput("Cannot read the plate", "Check it.", frame=float("nan"))

    monkeypatch.setattr(worker_module, "run_job", broken_run_job)
    replies = serve([json.dumps(protocol.run("a", minimal_job())), json.dumps(protocol.run("b", minimal_job()))])
    assert [(r["type"], r["kind"], r["job_id"]) for r in replies] == [("error", "internal", "a"), ("error", "internal", "b")]


def test_cancel_of_a_job_that_is_not_running_is_forgotten(monkeypatch):
    from genvfx.backend.process import worker as worker_module

    monkeypatch.setattr(worker_module, "run_job", lambda job, events, *args: (events.check_cancel(), {})[1])
    replies = serve([json.dumps(protocol.cancel("a")), json.dumps(protocol.run("a", minimal_job()))])
    assert [(r["type"], r["job_id"]) for r in replies] == [("job_done", "a")]


def test_the_worker_process_survives_hostile_lines_and_keeps_stdout_for_the_protocol():
    lines = [b'{"op":"run","job":{}}', b'{"op":"run","job_id":"a"}', b'{"op":"cancel"}',
             b'{"op":"cancel","job_id":[1]}', b"[" * 100_000, b"\xff\xfe not utf-8",
             b'{"op":"run","job_id":NaN,"job":{}}', b'{"op":"ping"}', b'{"op":"shutdown"}']
    done = subprocess.run([sys.executable, "-c", BOOTSTRAP, str(PACKAGE_ROOT)], input=b"\n".join(lines) + b"\n",
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    replies = [well_formed(line) for line in done.stdout.decode("ascii").splitlines()]
    assert [r["type"] for r in replies] == ["error"] * 7 + ["pong"]
    assert {r["kind"] for r in replies[:-1]} == {"bad_request"}
    assert replies[1]["job_id"] == "a"


# Property: random JSON in every request and field ------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
valid_or_not = {
    "generator": st.sampled_from(["fill", "relight", "collapse"]) | json_values,
    "inputs": st.dictionaries(st.sampled_from(["plate", "mask", "source"]), st.text(max_size=6) | json_values,
                              max_size=2) | json_values,
    "frames": st.lists(st.integers(-3, 12_000), max_size=3) | json_values,
}
others = dict.fromkeys(["cache_dir", "params", "seed", "model", "device", "output_dir_override"], json_values)
others["proxy"] = st.sampled_from([0.25, 0.5, 1.0]) | json_values
jobs = (st.fixed_dictionaries(valid_or_not, optional=others)
        | st.fixed_dictionaries({}, optional={**valid_or_not, **others}) | json_values)
job_ids = st.text(max_size=3) | st.integers(-2, 5) | json_values
ops = st.sampled_from([op for op in protocol.REQUESTS if op != "shutdown"]) | json_values
requests = (st.fixed_dictionaries({"op": st.just("run"), "job_id": job_ids, "job": jobs})
            | st.fixed_dictionaries({"op": st.just("cancel"), "job_id": job_ids})
            | st.fixed_dictionaries({}, optional={"op": ops, "job_id": job_ids, "job": jobs}))
# json.dumps writes NaN and Infinity as Python's json reads them: the worker must cope with both
lines = (requests.map(json.dumps) | json_values.map(json.dumps)
         | st.text(max_size=20).filter(lambda text: text.strip()))


def is_job_id(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def expected_replies(lines: list[str]) -> tuple[int, dict, int, int]:
    """(errors without a job, {job_id: final replies}, pongs, released) the protocol promises."""
    unnamed, finals, pongs, released = 0, {}, 0, 0
    for line in lines:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except (ValueError, RecursionError):
            request = None
        op = request.get("op") if isinstance(request, dict) else None
        if op == "ping":
            pongs += 1
        elif op == "release":
            released += 1
        elif op == "run" and is_job_id(request.get("job_id")):
            finals[request["job_id"]] = finals.get(request["job_id"], 0) + 1
        elif op == "cancel" and is_job_id(request.get("job_id")):
            pass  # a cancel's answer is the job's own final reply
        else:
            unnamed += 1
    return unnamed, finals, pongs, released


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=st.lists(lines, min_size=1, max_size=8))
def test_random_requests_each_get_exactly_one_reply(batch, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a relative cache_dir the fuzzer makes up lands here
    replies = serve(batch)
    unnamed, finals, pongs, released = expected_replies(batch)
    assert sum(1 for r in replies if r["type"] == "error" and r["job_id"] is None) == unnamed
    assert sum(1 for r in replies if r["type"] == "pong") == pongs
    assert sum(1 for r in replies if r["type"] == "released") == released
    got: dict = {}
    for reply in replies:
        if reply["type"] in protocol.FINAL_EVENTS and reply["job_id"] is not None:
            got[reply["job_id"]] = got.get(reply["job_id"], 0) + 1
    assert got == finals
    for reply in replies:
        if reply["type"] == "error":
            assert reply["kind"] != "internal", reply  # a caller's mistake is never called a genvfx bug
    assert capsys.readouterr().out == ""  # nothing but protocol lines (which went to the worker's stream)


def test_a_field_nested_as_deep_as_json_allows_is_still_named():
    depth = 900  # deep, yet within what json reads (deeper, the whole line is refused)
    line = '{"op":"run","job_id":"d","job":{"generator":"fill","inputs":{},"frames":[],"params":' \
           + "[" * depth + "]" * depth + "}}"
    replies = serve([line])
    assert [(r["kind"], r["job_id"]) for r in replies] == [("bad_request", "d")]
    assert "'params'" in replies[0]["message"]
