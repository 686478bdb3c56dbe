"""The grid cell kept with each case report (case_report.grid_code, migration 0012), looked up by writers in bulk.

A writer may give a case's cell when it writes the case (else a row trigger looks it up, one case at a time):
intake's merge looks up the cells of its whole batch with `cell_sql`. '' stands for no cell. `onemap rollups
check` compares every kept cell with a fresh `cell_sql` lookup (the trigger's case_grid_cell finds the same cell).
"""
from __future__ import annotations

NO_CELL = ""


def cell_sql(district: str, point: str) -> str:
    """SQL: the grid cell of a case of district `district` at `point` (SQL expressions), '' when none.

    As case_grid_cell: the first by code of the district's cells that contains the point, else the nearest.
    Cases of districts without cells (most) cost one probe of a hashed list of the districts with cells.
    """
    cells = f"FROM region r WHERE r.level = 'grid' AND r.district_code = {district}"
    return f"""CASE WHEN {point} IS NOT NULL
                     AND {district} IN (SELECT g.district_code FROM region g WHERE g.level = 'grid')
                THEN coalesce((SELECT r.code {cells} AND ST_Contains(r.geom, {point}) ORDER BY r.code LIMIT 1),
                              (SELECT r.code {cells} ORDER BY ST_Distance(r.geom, {point}), r.code LIMIT 1))
                ELSE '{NO_CELL}' END"""
