"""``buzz``: the one console script that drives everything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Campaign buzz pipeline: sources -> Kafka -> Faust -> ClickHouse -> dashboard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
source_app = typer.Typer(help="Source connectors.", no_args_is_help=True)
app.add_typer(source_app, name="source")
score_app = typer.Typer(help="Run a scorer on your own data.", no_args_is_help=True)
app.add_typer(score_app, name="score")


@app.command()
def broker(
    port: Annotated[int | None, typer.Option(help="Port (default BUZZ_BROKER_PORT, 9092)")] = None,
    host: Annotated[str | None, typer.Option(help="Host (default BUZZ_BROKER_HOST)")] = None,
) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, memory storage)."""
    from pipeline.broker import run_broker

    raise typer.Exit(run_broker(host=host, port=port))


@app.command()
def warehouse(
    host: Annotated[str | None, typer.Option(help="Host (default BUZZ_WAREHOUSE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (BUZZ_WAREHOUSE_PORT, 8123)")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="chDB data directory (default BUZZ_DATA_DIR/warehouse)")
    ] = None,
    readonly: Annotated[bool, typer.Option(help="Reject writes and DDL")] = False,
) -> None:
    """Serve the embedded warehouse (chDB) over ClickHouse's HTTP interface."""
    from pipeline.warehouse.gateway import main as gateway_main

    raise typer.Exit(gateway_main(host=host, port=port, data_dir=data_dir, readonly=readonly))


@app.command()
def migrate() -> None:
    """Apply the numbered warehouse migrations (idempotent)."""
    from pipeline.warehouse.migrate import main as migrate_main

    raise typer.Exit(migrate_main())


@app.command()
def worker() -> None:
    """Run the Faust worker (validation, dead letters, warehouse sink)."""
    from pipeline.worker import main as worker_main

    raise typer.Exit(worker_main())


@app.command()
def dashboard(
    port: Annotated[int | None, typer.Option(help="Port (BUZZ_DASHBOARD_PORT, 8501)")] = None,
) -> None:
    """Run the Streamlit dashboard."""
    from dashboard.launch import main as dashboard_main

    raise typer.Exit(dashboard_main(port=port))


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL to run against the warehouse")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet")] = "table",
    file: Annotated[Path | None, typer.Option(help="Read the SQL from this file")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Query parameter name=value for {name:Type}")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write the result to this file")] = None,
) -> None:
    """Run SQL against the warehouse and print the result."""
    from pipeline.sql_cli import main as sql_main

    params: dict[str, str] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected name=value, got {item!r}", param_hint="--param")
        params[name] = value
    raise typer.Exit(sql_main(query, fmt, file=file, params=params, output=output))


@app.command()
def forget(
    email: Annotated[str | None, typer.Option(help="Email address of the person")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number of the person")] = None,
    dry_run: Annotated[bool, typer.Option(help="Only report what would be removed")] = False,
) -> None:
    """Delete one person's signups everywhere they are stored (found by keyed HMAC)."""
    from pipeline.warehouse.forget import main as forget_main

    raise typer.Exit(forget_main(email, phone, dry_run=dry_run))


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="Also run the demo campaign simulator")] = False,
    rate: Annotated[float, typer.Option(help="Demo events per second")] = 20.0,
    workers: Annotated[
        int, typer.Option(help="Stream workers sharing the partitions (1 to the partition count)")
    ] = 1,
) -> None:
    """Start the whole stack (embedded broker and warehouse unless configured), supervise it."""
    from pipeline.supervisor import main as up_main

    raise typer.Exit(up_main(demo=demo, rate=rate, workers=workers))


# ``buzz bench`` runs the pipeline benchmark; ``buzz bench dashboard`` the dashboard's queries.
bench_app = typer.Typer(invoke_without_command=True)
app.add_typer(bench_app, name="bench")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    events: Annotated[
        int, typer.Option("-n", "--events", help="Mentions per throughput run")
    ] = 50_000,
    backlog: Annotated[
        int, typer.Option(help="Mentions queued with the worker stopped, then drained (0: skip)")
    ] = 1_000_000,
    seconds: Annotated[float, typer.Option(help="Seconds each latency rate is held")] = 20.0,
    peer: Annotated[
        bool, typer.Option(help="Also run the Quix Streams peer (needs .venv-peer: make bench)")
    ] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=4, help="Worker processes for (a), (e) and (f)")
    ] = 1,
) -> None:
    """Benchmark the stream core end to end, next to a Quix Streams peer and its ceilings.

    ``buzz bench dashboard`` times the dashboard's queries instead."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.bench import main as bench_main

    raise typer.Exit(
        bench_main(events, backlog=backlog, seconds=seconds, peer=peer, workers=workers)
    )


@app.command("eval")
def eval_(
    data: Annotated[
        Path, typer.Option(envvar="BUZZ_EVAL_DATA", help="Folder of labelled data sets")
    ],
    speed: Annotated[bool, typer.Option(help="Also time the sentiment scorer")] = True,
) -> None:
    """Measure each score on public labelled data next to a trivial baseline (docs/scoring.md)."""
    from pipeline.evaluation.harness import main as eval_main

    raise typer.Exit(eval_main(data, speed=speed))


@bench_app.command("dashboard")
def bench_dashboard(
    mentions: Annotated[int, typer.Option(help="Mentions to seed")] = 10_000_000,
    runs: Annotated[int, typer.Option(help="Timed runs of each query")] = 10,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the seeded warehouse here and reuse it next time")
    ] = None,
) -> None:
    """Seed a warehouse with N mentions and print p50/p95 of every dashboard page query."""
    from pipeline.bench_dashboard.run import main as bench_dashboard_main

    raise typer.Exit(bench_dashboard_main(mentions, runs, data_dir))


@source_app.command("list")
def source_list() -> None:
    """List the registered source connectors."""
    from pipeline.sources.registry import list_main

    raise typer.Exit(list_main())


@source_app.command(
    "run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def source_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Connector name (see `buzz source list`)")],
    rate: Annotated[float, typer.Option(help="Events per second (demo)")] = 20.0,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (demo), for repeatable runs")
    ] = None,
) -> None:
    """Run a source connector. Connector options follow as --name value (e.g. --url URL).

    \b
    Switches (each also --no-NAME, or --NAME true/false, yes/no, 1/0, on/off):
      --once       emit one batch/poll and exit
      --dry-run    print events as JSON lines on stdout; no broker, no state saved
      --realtime   pace events in real time (demo); --no-realtime backfills
    """
    from pipeline.sources.registry import run_main

    options: dict[str, Any] = parse_extra_options(ctx.args)
    if seed is not None:
        options["seed"] = seed
    raise typer.Exit(run_main(name, rate=rate, limit=limit, **options))


def parse_extra_options(args: list[str]) -> dict[str, object]:
    """``--some-option value`` -> {"some_option": "value"}; a bare ``--flag`` -> True.

    A repeated option collects its values into a list (e.g. several --url).
    """
    options: dict[str, object] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise typer.BadParameter(f"unexpected argument {arg!r}; options look like --name value")
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        val: object
        if eq:
            val = value
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            val = args[i + 1]
            i += 1
        else:
            val = True
        if key in options:
            prev = options[key]
            options[key] = [*prev, val] if isinstance(prev, list) else [prev, val]
        else:
            options[key] = val
        i += 1
    return options


@source_app.command("new")
def source_new(
    name: Annotated[str, typer.Argument(help="Name of the new connector (lower case)")],
) -> None:
    """Scaffold a connector module, its fixture folder and its test."""
    from pipeline.sources.scaffold import new_main

    raise typer.Exit(new_main(name))


@score_app.command("comments")
def score_comments(
    input_path: Annotated[Path, typer.Option("--input", help="CSV file with a header row")],
    text_column: Annotated[str, typer.Option(help="Column holding the comment text")],
    output: Annotated[
        Path | None, typer.Option(help="Write the scored CSV here (default: stdout)")
    ] = None,
) -> None:
    """Add a substance column (0-1, docs/scoring.md section 10) to every row of a CSV."""
    from pipeline.score_cli import main as score_main

    raise typer.Exit(score_main(input_path, text_column, output))


def main() -> None:
    app()
