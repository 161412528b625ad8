"""TEST STAND-IN: the smallest real MCP server, over stdio (stdlib only).

Claude Code starts it as an MCP server (``.mcp.json`` or ``--mcp-config``)::

    {"mcpServers": {"telemetry-test": {"type": "stdio", "command": "python3",
                                       "args": ["tests/claude/mcp_stdio_server.py"]}}}

and then offers its one tool to the model as ``mcp__telemetry-test__word_count``
(the Messages API stand-in's ``mcp`` script calls it).  The tool counts the
words of its ``text`` argument.  That is all the server is for: a real MCP
session, so that what Claude Code emits for MCP servers and MCP tool calls is
measured, not assumed.

The transport is the MCP stdio transport: one JSON-RPC 2.0 message per line on
stdin and stdout (https://modelcontextprotocol.io/specification, "Transports").
It answers ``initialize`` (echoing the client's protocol version), ``ping``,
``tools/list`` and ``tools/call``; empty lists for ``resources/list``,
``resources/templates/list`` and ``prompts/list``; ``-32601`` for any other
request; notifications are ignored.  Every message is logged to stderr, which
Claude Code keeps in its debug log.
"""

from __future__ import annotations

import json
import sys

SERVER_NAME = "telemetry-test"
TOOL = {
    "name": "word_count",
    "description": "Count the words of a text.",
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string", "description": "the text whose words to count"}},
        "required": ["text"],
        "additionalProperties": False,
    },
}
DEFAULT_PROTOCOL_VERSION = "2025-06-18"


def log(msg: str) -> None:
    sys.stderr.write(f"[mcp-stdio-server] {msg}\n")
    sys.stderr.flush()


def handle(request: dict) -> dict | None:
    """The response to one JSON-RPC message, or None for a notification."""
    method = request.get("method")
    params = request.get("params") or {}
    if "id" not in request:
        return None
    if method == "initialize":
        result = {
            "protocolVersion": params.get("protocolVersion") or DEFAULT_PROTOCOL_VERSION,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": SERVER_NAME, "version": "1.0.0"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": [TOOL]}
    elif method == "tools/call":
        if params.get("name") != TOOL["name"]:
            return {"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32602, "message": f"unknown tool {params.get('name')!r}"}}
        words = len(str((params.get("arguments") or {}).get("text", "")).split())
        result = {"content": [{"type": "text", "text": f"{words} words"}], "isError": False}
    elif method in ("resources/list", "resources/templates/list", "prompts/list"):
        key = {"resources/list": "resources", "resources/templates/list": "resourceTemplates",
               "prompts/list": "prompts"}[method]
        result = {key: []}
    else:
        return {"jsonrpc": "2.0", "id": request["id"],
                "error": {"code": -32601, "message": f"method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            log(f"not JSON: {line[:200]!r}")
            continue
        log(f"<- {request.get('method')} id={request.get('id')}")
        response = handle(request)
        if response is not None:
            sys.stdout.write(json.dumps(response) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
