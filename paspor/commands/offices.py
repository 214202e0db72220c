"""`paspor offices`: the immigration offices that issue passports."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.offices import load_offices, nearest_offices, offices_in_province

HELP = "List the immigration offices that issue passports."
app = typer.Typer(help=HELP, invoke_without_command=True, add_completion=False)
console = Console()


@app.callback()
def offices(
    province: Annotated[str | None, typer.Option(help="Only this province (e.g. 'Jawa Timur').")] = None,
    near: Annotated[str | None, typer.Option(help="LAT,LON: nearest offices first, with distance.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many to show.")] = 200,
) -> None:
    """List offices, by province or nearest to a place."""
    table = Table("code", "name", "city", "province", "tz", "capacity")
    if near:
        try:
            lat, lon = (float(x) for x in near.split(","))
            rows = nearest_offices(lat, lon, limit)
        except ValueError as error:
            console.print(f"[red]error:[/red] --near must be LAT,LON within range ({error})")
            raise typer.Exit(2) from None
        table.add_column("km")
        for office, km in rows:
            table.add_row(*_cells(office), f"{km:.1f}")
    else:
        chosen = offices_in_province(province) if province else list(load_offices())
        if not chosen:
            console.print(f"[red]error:[/red] no office in province {province!r}")
            raise typer.Exit(2)
        for office in chosen[:limit]:
            table.add_row(*_cells(office))
    console.print(table)


def _cells(office) -> list[str]:  # noqa: ANN001
    return [office.code, office.name, office.city, office.province, office.timezone, str(office.capacity_per_session)]
