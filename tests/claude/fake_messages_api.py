"""TEST STAND-IN for the Anthropic Messages API -- not a model, not a proxy.

This is a tiny, stdlib-only HTTP server that lets the *real* Claude Code CLI
run a complete, scripted session on a machine with no access to Anthropic,
so that the session exports real OpenTelemetry metrics and events that the
observability stack (and its tests) can be checked against.

Point Claude Code at it with ``ANTHROPIC_BASE_URL=http://127.0.0.1:<port>``
and any dummy ``ANTHROPIC_API_KEY``.  It never contacts anything else.

Usage::

    python3 fake_messages_api.py --port 8787 [--bind 127.0.0.1] [--dump-dir DIR] [--fail-once LABEL:STATUS]
                                 [--delay SECONDS] [--script NAME] [--fail-always PATTERN:STATUS]
                                 [--retry-after-ms MS]

``--port 0`` picks a free port; the first line on stderr says which
(``listening on http://127.0.0.1:PORT``).

Endpoints
---------
``POST /v1/messages`` (also with ``?beta=true``)
    Streaming SSE when the body has ``"stream": true`` (``message_start``,
    ``ping``, ``content_block_start`` / ``content_block_delta`` /
    ``content_block_stop``, ``message_delta`` with usage, ``message_stop``),
    a plain JSON ``message`` object otherwise.
``POST /v1/messages/count_tokens``
    ``{"input_tokens": N}`` estimated from the request size.
``GET /v1/models``, ``GET /v1/models/<id>``
    A short static model list.
anything else
    404 with an Anthropic-shaped error body.  Every request path is logged to
    stderr, so unexpected calls are visible.

The script
----------
What to answer is decided only from the conversation in the request:

* **Subagent** conversation: its first user message contains the marker
  ``SUBAGENT-TASK`` (which the main loop puts into the Agent tool's prompt).
  It asks for one ``Bash`` call (``ls``), then answers with text.
* **Main loop**: a request that offers tools and is not a subagent.  The step
  is the number of ``tool_result`` blocks already in ``messages``:
  0 Write ``hello.py``, 1 Bash ``python3 hello.py``, 2 Read ``hello.py``,
  3 Edit (change the greeting), 4 Agent (``subagent_type``
  ``general-purpose``; with ``model: "haiku"`` when the Agent tool's input
  schema offers a ``model`` enum containing ``haiku``, so that the session
  uses a second model), 5 Bash ``git add hello.py && git commit`` (Claude
  Code counts a commit), 6 Bash ``gh pr create`` (it counts a pull request;
  run_session.sh puts a stand-in for the GitHub CLI on PATH), 7+ final text
  answer.
* **Anything else** (no tools: title / summary / classification side
  requests): a short text answer.

``--fail-once LABEL:STATUS`` (repeatable) answers the first request whose
reply would be ``LABEL`` (as logged: ``main/bash``, ``subagent/final``, ...)
with that HTTP status and the Anthropic error type that goes with it, and the
following ones normally.  Claude Code retries a 529 and reports nothing when
the retry succeeds; it emits an ``api_error`` event only for a request that
finally fails (2.1.197 does not retry a 400; 2.1.332 does).  The stack scenario uses ``subagent/final:400``: the subagent's
last request fails, Claude Code emits ``api_error`` (with the subagent's
``query_source``), the subagent ends, and the session completes normally.

``--script NAME`` plays another scripted session instead (the catalog's
scenarios, tests/catalog/scenarios.py); without it the script above is played
exactly as described.  The other scripts answer subagents and side requests as
above, and their main loop does:

* ``simple``: one text answer, no tool;
* ``tool-error``: Bash ``ls missing-file.txt`` (exits 2), a Read of a missing
  file, a text answer;
* ``permission-denied``: Bash ``python3 -c 'print(6 * 7)'`` (no rule allows it,
  so ``-p`` denies it), a text answer;
* ``agents``: an Agent subagent with ``run_in_background: false`` (and
  ``model: "haiku"``), then one with ``run_in_background: true`` whose prompt
  carries ``SUBAGENT-TASK-BACKGROUND`` (labels ``subagent-background/...``),
  then a text answer.  The background subagent's last reply is held until the
  main loop's final answer has been sent, so it always finishes late;
* ``mcp``: the tool ``mcp__telemetry-test__word_count`` of
  tests/claude/mcp_stdio_server.py, a text answer;
* ``skill``: the Skill tool with the project skill ``telemetry-check``, a text
  answer.

``--fail-always PATTERN:STATUS`` (repeatable) answers EVERY request whose label
matches the fnmatch pattern (``subagent/*``) with that HTTP error: a persistent
failure, which Claude Code retries until it gives up.  ``--retry-after-ms``
adds that header to the scripted errors (measured: Claude Code 2.1.197 and
2.1.332 still back off for their own delays on a 529).

The ``model`` field of every reply echoes the model the request asked for.
Usage numbers are deterministic, realistic and non-zero in all four token
types (``input_tokens``, ``output_tokens``, ``cache_creation_input_tokens``,
``cache_read_input_tokens``) so that Claude Code computes a non-zero cost for
each of them.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SUBAGENT_MARKER = "SUBAGENT-TASK"
SECOND_MODEL_ALIAS = "haiku"

_ids = itertools.count()
_ids_lock = threading.Lock()


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


def log(msg: str) -> None:
    sys.stderr.write(f"[fake-messages-api] {msg}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Conversation inspection
# --------------------------------------------------------------------------

def _blocks(message: dict) -> list:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def _user_text(message: dict) -> str:
    return "\n".join(
        b.get("text", "") for b in _blocks(message)
        if isinstance(b, dict) and b.get("type") == "text"
    )


def _system_text(body: dict) -> str:
    system = body.get("system")
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return ""


def count_tool_results(messages: list) -> int:
    return sum(
        1
        for m in messages if m.get("role") == "user"
        for b in _blocks(m) if isinstance(b, dict) and b.get("type") == "tool_result"
    )


def working_directory(body: dict) -> str:
    """The session's working directory, as Claude Code states it in its
    system prompt (or in a <system-reminder> of the first user message)."""
    texts = [_system_text(body)] + [_user_text(m) for m in body.get("messages", [])[:1]]
    # 2.1.x main loop: " - Primary working directory: /x"; subagents: "Working directory: /x"
    for label in ("Primary working directory", "Working directory"):
        for text in texts:
            m = re.search(re.escape(label) + r":[ \t]*(/[^\s<]*)", text)
            if m:
                return m.group(1).rstrip(".,")
    return os.getcwd()


def agent_model_override(body: dict) -> str | None:
    """``haiku`` if the Agent tool's input schema accepts a ``model`` enum
    containing it, else None."""
    for tool in body.get("tools") or []:
        if tool.get("name") not in ("Agent", "Task"):
            continue
        prop = ((tool.get("input_schema") or {}).get("properties") or {}).get("model")
        if isinstance(prop, dict):
            choices = prop.get("enum") or []
            for alt in prop.get("anyOf") or prop.get("oneOf") or []:
                choices += alt.get("enum") or []
            if SECOND_MODEL_ALIAS in choices:
                return SECOND_MODEL_ALIAS
    return None


def agent_tool_name(body: dict) -> str:
    names = {t.get("name") for t in body.get("tools") or []}
    return "Task" if "Task" in names and "Agent" not in names else "Agent"


# --------------------------------------------------------------------------
# The script
# --------------------------------------------------------------------------

HELLO_V1 = (
    "def greet():\n"
    "    print(\"Hello, world!\")\n"
    "\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    greet()\n"
)


def tool_use(name: str, tool_input: dict) -> dict:
    return {"type": "tool_use", "id": f"toolu_fake{_next_id():06d}", "name": name, "input": tool_input}


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def main_loop_reply(body: dict, step: int) -> tuple[str, list]:
    cwd = working_directory(body)
    path = os.path.join(cwd, "hello.py")
    if step == 0:
        return "main/write", [
            text("I'll create hello.py with a greeting."),
            tool_use("Write", {"file_path": path, "content": HELLO_V1}),
        ]
    if step == 1:
        return "main/bash", [
            text("Now let me run it."),
            tool_use("Bash", {"command": "python3 hello.py", "description": "Run hello.py"}),
        ]
    if step == 2:
        return "main/read", [tool_use("Read", {"file_path": path})]
    if step == 3:
        return "main/edit", [
            text("I'll change the greeting."),
            tool_use("Edit", {
                "file_path": path,
                "old_string": "    print(\"Hello, world!\")",
                "new_string": "    print(\"Hello from the telemetry test!\")",
                "replace_all": False,
            }),
        ]
    if step == 4:
        agent_input = {
            "description": "List project files",
            "prompt": f"{SUBAGENT_MARKER}: list the files in the current directory and report them.",
            "subagent_type": "general-purpose",
        }
        override = agent_model_override(body)
        if override:
            agent_input["model"] = override
        return "main/agent", [
            text("Let me ask a subagent to list the files."),
            tool_use(agent_tool_name(body), agent_input),
        ]
    if step == 5:
        return "main/commit", [
            text("I'll commit the change."),
            tool_use("Bash", {"command": "git add hello.py && git commit -q -m 'Add hello.py'",
                              "description": "Commit hello.py"}),
        ]
    if step == 6:
        return "main/pr", [
            text("And open a pull request."),
            tool_use("Bash", {"command": "gh pr create --title 'Add hello.py' --body 'Adds hello.py.'",
                              "description": "Open a pull request"}),
        ]
    return "main/final", [text(
        "Done: hello.py was created, run, read, and its greeting changed; "
        "a subagent listed the project files; the change is committed and a pull request is open."
    )]


def subagent_reply(body: dict, step: int) -> tuple[str, list]:
    if step == 0:
        return "subagent/bash", [
            tool_use("Bash", {"command": "ls", "description": "List files in current directory"}),
        ]
    return "subagent/final", [text("The directory contains hello.py.")]


def side_reply(body: dict) -> tuple[str, list]:
    system = _system_text(body).lower()
    if "title" in system and "json" in system:
        return "side/title-json", [text('{"title": "Create and run hello.py"}')]
    if "title" in system:
        return "side/title", [text("Create and run hello.py")]
    return "side/text", [text("OK.")]


# --------------------------------------------------------------------------
# The other scripts (--script NAME), for the catalog's scenarios
# (tests/catalog/scenarios.py).  Each is a list of main-loop steps; the
# subagent and side requests are answered as in the stack script.
# --------------------------------------------------------------------------

BACKGROUND_MARKER = "SUBAGENT-TASK-BACKGROUND"
# The MCP server of tests/claude/mcp_stdio_server.py and the project skill the
# catalog's scenarios install; Claude Code names an MCP tool mcp__<server>__<tool>.
MCP_TOOL = "mcp__telemetry-test__word_count"
SKILL_NAME = "telemetry-check"
FINAL_TEXT = "Done."


def _final() -> tuple[str, list]:
    return "main/final", [text(FINAL_TEXT)]


def _script_simple(body: dict, step: int) -> tuple[str, list]:
    """One text answer, no tools: a session that only makes requests."""
    return _final()


def _script_tool_error(body: dict, step: int) -> tuple[str, list]:
    """A Bash command that exits non-zero, then a Read of a missing file."""
    if step == 0:
        return "main/bash-fails", [
            text("Let me list a file that does not exist."),
            tool_use("Bash", {"command": "ls missing-file.txt", "description": "List a missing file"}),
        ]
    if step == 1:
        return "main/read-fails", [
            tool_use("Read", {"file_path": os.path.join(working_directory(body), "missing-file.txt")}),
        ]
    return _final()


def _script_permission_denied(body: dict, step: int) -> tuple[str, list]:
    """A Bash command that no rule allows and that is not read-only: denied in -p mode."""
    if step == 0:
        return "main/bash-denied", [
            text("Let me run a Python one-liner."),
            tool_use("Bash", {"command": "python3 -c 'print(6 * 7)'", "description": "Compute a number"}),
        ]
    return _final()


def _agent_input(body: dict, marker: str, background: bool, model: str | None) -> dict:
    agent_input = {
        "description": "List project files" + (" (background)" if background else ""),
        "prompt": f"{marker}: list the files in the current directory and report them.",
        "subagent_type": "general-purpose",
        "run_in_background": background,
    }
    if model and agent_model_override(body):
        agent_input["model"] = model
    return agent_input


def _script_agents(body: dict, step: int) -> tuple[str, list]:
    """A foreground subagent (run_in_background false, on the haiku alias), then a
    background one (run_in_background true, the main model).  The background
    subagent's last reply is held until the main loop has had its final answer,
    so it always finishes late (see Handler._hold)."""
    tool = agent_tool_name(body)
    if step == 0:
        return "main/agent-foreground", [
            text("Let me ask a subagent to list the files, and wait for it."),
            tool_use(tool, _agent_input(body, SUBAGENT_MARKER, False, SECOND_MODEL_ALIAS)),
        ]
    if step == 1:
        return "main/agent-background", [
            text("And another one in the background."),
            tool_use(tool, _agent_input(body, BACKGROUND_MARKER, True, None)),
        ]
    return _final()


def _script_mcp(body: dict, step: int) -> tuple[str, list]:
    """A call of the MCP server's tool (tests/claude/mcp_stdio_server.py)."""
    if step == 0:
        return "main/mcp", [
            text("Let me count the words with the MCP tool."),
            tool_use(MCP_TOOL, {"text": "one two three"}),
        ]
    return _final()


def _script_skill(body: dict, step: int) -> tuple[str, list]:
    """The Skill tool with the project skill the scenario installs (.claude/skills/)."""
    if step == 0:
        return "main/skill", [tool_use("Skill", {"skill": SKILL_NAME})]
    return _final()


SCRIPTS = {
    "stack": main_loop_reply,
    "simple": _script_simple,
    "tool-error": _script_tool_error,
    "permission-denied": _script_permission_denied,
    "agents": _script_agents,
    "mcp": _script_mcp,
    "skill": _script_skill,
}


def subagent_label_prefix(first_user_text: str) -> str | None:
    if BACKGROUND_MARKER in first_user_text:
        return "subagent-background"
    if SUBAGENT_MARKER in first_user_text:
        return "subagent"
    return None


def decide(body: dict, script: str = "stack") -> tuple[str, list]:
    messages = body.get("messages") or []
    first_user = next((m for m in messages if m.get("role") == "user"), {})
    step = count_tool_results(messages)
    if script != "stack":
        prefix = subagent_label_prefix(_user_text(first_user))
        if prefix:
            label, content = subagent_reply(body, step)
            return label.replace("subagent", prefix, 1), content
        if body.get("tools"):
            return SCRIPTS[script](body, step)
        return side_reply(body)
    if SUBAGENT_MARKER in _user_text(first_user):
        return subagent_reply(body, step)
    if body.get("tools"):
        return main_loop_reply(body, step)
    return side_reply(body)


# Usage numbers: deterministic, realistic, all four types non-zero.  Claude
# Code's requests are dominated by the cached system prompt and tool
# definitions, so cache reads are the biggest part, growing with each turn.
USAGE_BASE = {
    "main": dict(input_tokens=1200, output_tokens=180, cache_creation_input_tokens=2400, cache_read_input_tokens=14000),
    "subagent": dict(input_tokens=800, output_tokens=90, cache_creation_input_tokens=1500, cache_read_input_tokens=9000),
    "side": dict(input_tokens=350, output_tokens=25, cache_creation_input_tokens=120, cache_read_input_tokens=600),
}


def usage_for(kind: str, step: int) -> dict:
    base = USAGE_BASE[kind]
    u = {
        "input_tokens": base["input_tokens"] + 45 * step,
        "output_tokens": base["output_tokens"] + 15 * step,
        "cache_creation_input_tokens": base["cache_creation_input_tokens"] + 30 * step,
        "cache_read_input_tokens": base["cache_read_input_tokens"] + 600 * step,
    }
    return u


def full_usage(u: dict) -> dict:
    return {
        "input_tokens": u["input_tokens"],
        "cache_creation_input_tokens": u["cache_creation_input_tokens"],
        "cache_read_input_tokens": u["cache_read_input_tokens"],
        "cache_creation": {
            "ephemeral_5m_input_tokens": u["cache_creation_input_tokens"],
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": u["output_tokens"],
        "service_tier": "standard",
    }


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

def sse_events(message: dict, u: dict) -> list[tuple[str, dict]]:
    start_msg = dict(message, content=[], stop_reason=None, stop_sequence=None,
                     usage=full_usage(dict(u, output_tokens=1)))
    events = [("message_start", {"type": "message_start", "message": start_msg}),
              ("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}}))
            words = re.findall(r"\S+\s*|\s+", block["text"]) or [""]
            for i in range(0, len(words), 4):
                events.append(("content_block_delta", {
                    "type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": "".join(words[i:i + 4])}}))
        else:
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "tool_use", "id": block["id"],
                                                                     "name": block["name"], "input": {}}}))
            raw = json.dumps(block["input"])
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "input_json_delta", "partial_json": ""}}))
            for i in range(0, len(raw), 40):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "input_json_delta",
                                                                 "partial_json": raw[i:i + 40]}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {
            "input_tokens": u["input_tokens"],
            "cache_creation_input_tokens": u["cache_creation_input_tokens"],
            "cache_read_input_tokens": u["cache_read_input_tokens"],
            "output_tokens": u["output_tokens"],
        },
    }))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-messages-api/1"
    dump_dir: str | None = None
    # Reply labels (as logged: "side/title-json", "main/bash", ...) whose first request is
    # answered with an error instead, mapped to the HTTP status to send.
    fail_once: dict = {}
    # Seconds to wait before each /v1/messages reply: a slow model, so that a session lasts
    # long enough for a fault to be injected in its middle (the faults scenario).
    delay: float = 0.0
    # --script: which scripted session to play (SCRIPTS); "stack" is the one described above.
    script: str = "stack"
    # --fail-always: (label pattern, HTTP status) pairs; every request whose label matches
    # (fnmatch) is answered with that error.
    fail_always: list = []
    # --retry-after-ms: sent as retry-after-ms with every scripted error, when set.
    retry_after_ms: int | None = None
    _failed: set = set()
    _failed_lock = threading.Lock()
    # Set once the main loop's final answer has been sent (the agents script holds the
    # background subagent's last reply until then).
    main_final_sent = threading.Event()
    HOLD_TIMEOUT = 30.0

    def log_message(self, fmt, *args):  # quiet default access log
        pass

    # -- helpers ----------------------------------------------------------
    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send_json(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_fake{_next_id():06d}")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, etype: str, message: str, headers: dict | None = None) -> None:
        data = json.dumps({"type": "error", "error": {"type": etype, "message": message}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_fake{_next_id():06d}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _scripted_failure(self, label: str) -> int | None:
        """The HTTP status to answer this request with, or None to answer it normally."""
        if label in self.fail_once:
            with self._failed_lock:
                fail = label not in self._failed
                self._failed.add(label)
            if fail:
                return self.fail_once[label]
        for pattern, status in self.fail_always:
            if fnmatch.fnmatchcase(label, pattern):
                return status
        return None

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- verbs ------------------------------------------------------------
    def do_GET(self):
        path = urlsplit(self.path).path
        log(f"GET {self.path}")
        if path == "/v1/models":
            self._send_json(200, {"data": [_model_info(m) for m in KNOWN_MODELS],
                                  "has_more": False, "first_id": KNOWN_MODELS[0],
                                  "last_id": KNOWN_MODELS[-1]})
        elif path.startswith("/v1/models/"):
            self._send_json(200, _model_info(path.rsplit("/", 1)[1]))
        else:
            self._error(404, "not_found_error", f"fake-messages-api: no such endpoint {path}")

    def do_HEAD(self):
        log(f"HEAD {self.path}")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        path = urlsplit(self.path).path
        raw = self._read_body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            log(f"POST {self.path} (invalid JSON)")
            return self._error(400, "invalid_request_error", "body is not JSON")
        if path == "/v1/messages/count_tokens":
            n = max(1, len(raw) // 4)
            log(f"POST {self.path} model={body.get('model')} -> input_tokens={n}")
            return self._send_json(200, {"input_tokens": n})
        if path != "/v1/messages":
            log(f"POST {self.path} (unhandled)")
            return self._error(404, "not_found_error", f"fake-messages-api: no such endpoint {path}")
        return self._messages(body)

    def _messages(self, body: dict) -> None:
        model = body.get("model") or "claude-sonnet-4-5"
        if self.delay:
            time.sleep(self.delay)
        label, content = decide(body, self.script)
        kind = label.split("/", maxsplit=1)[0]
        if kind.startswith("subagent"):
            kind = "subagent"
        step = count_tool_results(body.get("messages") or [])
        status = self._scripted_failure(label)
        if status is not None:
            etype = ERROR_TYPES.get(status, "api_error")
            log(f"POST {self.path} model={model} -> {label}: scripted {status} {etype}")
            headers = {} if self.retry_after_ms is None else {"retry-after-ms": str(self.retry_after_ms)}
            return self._error(status, etype, f"{etype} (scripted by fake-messages-api)", headers)
        if label == "subagent-background/final":
            # Finish late, after the main loop's final answer: deterministic, whatever the timing.
            if not self.main_final_sent.wait(self.HOLD_TIMEOUT):
                log(f"{label}: main/final did not come within {self.HOLD_TIMEOUT} s; answering anyway")
        u = usage_for(kind, step)
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        message = {
            "id": f"msg_fake{_next_id():06d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": full_usage(u),
        }
        tools = [b["name"] for b in content if b["type"] == "tool_use"]
        log(f"POST {self.path} model={model} stream={bool(body.get('stream'))} "
            f"msgs={len(body.get('messages') or [])} tools_offered={len(body.get('tools') or [])} "
            f"-> {label} {tools or ''} usage={u}")
        if self.dump_dir:
            n = _next_id()
            with open(os.path.join(self.dump_dir, f"{n:04d}-{label.replace('/', '_')}.json"), "w") as f:
                json.dump({"path": self.path, "headers": dict(self.headers), "body": body}, f, indent=1)
        if label == "main/final":
            self.main_final_sent.set()
        if not body.get("stream"):
            return self._send_json(200, message)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", f"req_fake{_next_id():06d}")
        self.end_headers()
        for event, data in sse_events(message, u):
            self._chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# The error types the Anthropic API sends with these statuses.
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}

KNOWN_MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]


def _model_info(model_id: str) -> dict:
    return {"type": "model", "id": model_id, "display_name": model_id,
            "created_at": "2025-01-01T00:00:00Z"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Test stand-in for the Anthropic Messages API (scripted replies).")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--dump-dir", help="write every /v1/messages request body here (debugging)")
    p.add_argument("--fail-once", action="append", default=[], metavar="LABEL:STATUS",
                   help="answer the first request whose reply label is LABEL with this HTTP error (repeatable)")
    p.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long before answering each /v1/messages request (a slow model)")
    p.add_argument("--script", default="stack", choices=sorted(SCRIPTS),
                   help="the scripted session to play (default: stack, the one the stack scenario uses)")
    p.add_argument("--fail-always", action="append", default=[], metavar="PATTERN:STATUS",
                   help="answer every request whose reply label matches PATTERN (fnmatch, e.g. 'subagent/*') "
                        "with this HTTP error (repeatable)")
    p.add_argument("--retry-after-ms", type=int, metavar="MS",
                   help="send this retry-after-ms header with every scripted error (fast retries)")
    args = p.parse_args(argv)
    Handler.delay = args.delay
    Handler.script = args.script
    Handler.retry_after_ms = args.retry_after_ms
    Handler.fail_always = [(pattern, int(status)) for pattern, status in (f.rsplit(":", 1) for f in args.fail_always)]
    Handler.fail_once = {label: int(status) for label, status in (f.rsplit(":", 1) for f in args.fail_once)}
    if args.dump_dir:
        os.makedirs(args.dump_dir, exist_ok=True)
        Handler.dump_dir = args.dump_dir
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    log(f"listening on http://{args.bind}:{server.server_address[1]}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
