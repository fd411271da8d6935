"""`neobank agencies ...`: the outside-agency simulators."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

agencies_app = typer.Typer(help="Simulated outside agencies.", no_args_is_help=True)
console = Console(stderr=True)


@agencies_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8100, help="TCP port."),
    seed: int | None = typer.Option(None, help="Seed for latencies and errors (reproducible)."),
    config: Path | None = typer.Option(
        None, help="JSON file with a SimulatorConfig (knobs per agency, stolen ids).", exists=True
    ),
) -> None:
    """Run the identity agency, credit bureau, guarantee insurer and clearing house (one
    process: their state is in memory)."""
    import uvicorn

    from neobank.agencies import SimulatorConfig, create_simulator_app

    settings = (
        SimulatorConfig.model_validate_json(config.read_bytes()) if config else SimulatorConfig()
    )
    app = create_simulator_app(settings, seed=seed)
    console.print(f"agency simulators listening on http://{host}:{port} (OpenAPI at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
