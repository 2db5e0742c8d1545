"""Running the Node.js clients of tests/conformance/node (official JavaScript SDKs) from a test.

Each script reads one JSON document on stdin and writes one JSON document on stdout; what it could not do
ends it with a non-zero exit and the reason on stderr. The packages are installed by `make conformance-deps`
(`npm ci` from the checked-in lockfile).
"""

import asyncio
import json
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).parent / "node"


class NodeScriptFailed(AssertionError):
    """A conformance script ended with an error: its stderr says what the SDK refused."""


async def run_node(script: str, given: Any, *, within: float = 60.0) -> Any:
    """What ``node/<script>`` wrote on stdout, read as JSON, after it was handed ``given`` on stdin."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPTS / script),
        cwd=SCRIPTS,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(json.dumps(given).encode()), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise NodeScriptFailed(f"{script} did not finish within {within:.0f} s") from None
    if process.returncode != 0:
        raise NodeScriptFailed(f"{script} exited {process.returncode}: {err.decode().strip()[-2000:]}")
    return json.loads(out)
