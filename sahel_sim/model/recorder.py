"""Weekly records of a run: regional time series, refugees by country, cell snapshots.

Preallocated arrays filled once a week; tables are built at the end (or on demand for the
browser app's live charts).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sahel_sim.events import EVENT_TYPES, VIOLENT_EVENT_TYPES
from sahel_sim.geography import NEIGHBOUR_COUNTRIES, REGIONS
from sahel_sim.model.mechanisms._compiled import njit

if TYPE_CHECKING:
    from sahel_sim.model.model import SahelModel

@njit
def regional_week(region, t, pop_home, idp_host, idp_origin, ref_origin, S, control, grievance, population_out,
                  idp_host_out, idp_origin_out, ref_origin_out, strength_out, cells_out,
                  grievance_out):  # pragma: no cover - compiled (mechanisms/_compiled.py)
    """Week ``t``'s regional rows: population present, IDPs hosted and by origin, refugees by
    origin, fighters of each actor, cells held by each faction (last: nobody) and mean
    grievance weighted by population; sums in cell order (as ``np.bincount``)."""
    R = population_out.shape[1]
    A, n = S.shape
    F1 = cells_out.shape[2]
    for r in range(R):
        population_out[t, r] = 0.0
        idp_host_out[t, r] = 0.0
        idp_origin_out[t, r] = 0.0
        ref_origin_out[t, r] = 0.0
        for a in range(A):
            strength_out[t, r, a] = 0.0
        grievance_out[t, r] = 0.0
    for c in range(n):
        r = region[c]
        w = pop_home[c] + idp_host[c]
        population_out[t, r] += w
        idp_host_out[t, r] += idp_host[c]
        idp_origin_out[t, r] += idp_origin[c]
        ref_origin_out[t, r] += ref_origin[c]
        f = control[c] if control[c] >= 0 else F1 - 1
        cells_out[t, r, f] += 1
        grievance_out[t, r] += grievance[c] * w
    for a in range(A):
        for c in range(n):
            strength_out[t, region[c], a] += S[a, c]
    for r in range(R):
        grievance_out[t, r] = grievance_out[t, r] / max(population_out[t, r], 1.0)


EVENT_TYPE_COLUMNS = tuple("events_" + t.lower().replace("/", "_").replace(" ", "_") for t in EVENT_TYPES)


class Recorder:
    def __init__(self, model: SahelModel) -> None:
        self.model = model
        T, R = model.n_steps, len(REGIONS)
        A, F = len(model.actor_ids), len(model.factions)
        self.region = model.grid.region.astype(np.int64)
        self.events = np.zeros((T, R, len(EVENT_TYPES)), dtype=np.int32)
        self.mi_events = np.zeros((T, R), dtype=np.int32)
        self.actor_events = np.zeros((T, A), dtype=np.int32)
        self.fat_combat = np.zeros((T, R), dtype=np.int32)
        self.fat_civ = np.zeros((T, R), dtype=np.int32)
        self.population = np.zeros((T, R))
        self.idp_host = np.zeros((T, R))
        self.idp_origin = np.zeros((T, R))
        self.ref_origin = np.zeros((T, R))
        self.strength = np.zeros((T, R, A))
        self.cells = np.zeros((T, R, F + 1), dtype=np.int16)
        self.grievance = np.zeros((T, R))
        self.refugees = np.zeros((T, len(NEIGHBOUR_COUNTRIES)))
        self.refugees_at = np.zeros((T, model.ref_location.size))  # by location abroad (camps, border areas)
        self.dates: list[dt.date] = []
        # accumulators for this week and for the current snapshot interval
        self._week_logged = np.zeros((R, len(EVENT_TYPES)), dtype=np.int32)
        self._week_logged_mi = np.zeros(R, dtype=np.int32)
        self._snap_violence = np.zeros(model.n_cells)
        self._snap_civ = np.zeros(model.n_cells)
        self._snaps: dict[str, list] = {k: [] for k in ("dates", "control", "influence", "violence", "civ", "displaced",
                                                         "grievance", "population")}
        self._pending: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ during the week
    def note_logged(self, cell: int, event_type: str, *, militant_islamist: bool = False) -> None:
        """Count an event logged outside the violence draw (territory, accord, camps, mergers);
        the militant Islamist series counts violent events only, as the draw's do."""
        self._week_logged[self.region[cell], EVENT_TYPES.index(event_type)] += 1
        self._week_logged_mi[self.region[cell]] += int(militant_islamist and event_type in VIOLENT_EVENT_TYPES)

    def note_events(self, att, tgt, types, cells, combat_deaths, civ_deaths) -> None:
        """This week's drawn events: attacker and target actor indices (-1 for civilians),
        index into EVENT_TYPES, cell, and deaths."""
        m = self.model
        R = len(REGIONS)
        reg = self.region[cells]
        T = len(EVENT_TYPES)
        A = len(m.actor_ids)
        ev = np.bincount(reg * T + types, minlength=R * T).reshape(R, T).astype(np.int32)
        tgt_safe = np.where(tgt >= 0, tgt, 0)
        mi = m.is_jihadist[att] | ((tgt >= 0) & m.is_jihadist[tgt_safe])
        ok = tgt >= 0
        involved = (np.bincount(att, minlength=A) + np.bincount(tgt[ok], minlength=A)).astype(np.int32)
        self._pending = {
            "events": ev,
            "mi": np.bincount(reg, weights=mi, minlength=R).astype(np.int32),
            "actor": involved,
            "combat": np.bincount(reg, weights=combat_deaths, minlength=R).astype(np.int32),
            "civ": np.bincount(reg, weights=civ_deaths, minlength=R).astype(np.int32),
        }
        # counts and deaths are whole numbers: adding them per cell at once is exact
        self._snap_violence += np.bincount(cells, minlength=m.n_cells)
        self._snap_civ += np.bincount(cells, weights=civ_deaths, minlength=m.n_cells)

    # ------------------------------------------------------------------ end of week
    def record(self, week: dict[str, np.ndarray]) -> None:
        m = self.model
        t = m.week
        self.dates.append(m.current_date)
        p = self._pending
        if p is not None:
            self.events[t] = p["events"]
            self.mi_events[t] = p["mi"]
            self.actor_events[t] = p["actor"]
            self.fat_combat[t] = p["combat"]
            self.fat_civ[t] = p["civ"]
        self.events[t] += self._week_logged
        self.mi_events[t] += self._week_logged_mi
        self._week_logged[:] = 0
        self._week_logged_mi[:] = 0
        self._pending = None
        regional_week(self.region, t, m.pop_home, m.idp_host, m.idp_origin, m.ref_origin, m.S, m.control, m.grievance,
                      self.population, self.idp_host, self.idp_origin, self.ref_origin, self.strength, self.cells,
                      self.grievance)
        self.refugees[t] = m.ref_country
        self.refugees_at[t] = m.ref_location
        every = m.config.outputs.snapshot_every_weeks
        if (t + 1) % every == 0 or t + 1 == m.n_steps:
            s = self._snaps
            s["dates"].append(m.current_date)
            s["control"].append(m.control.copy())
            s["influence"].append(m.influence.astype(np.float32))
            s["violence"].append(self._snap_violence.astype(np.float32))
            s["civ"].append(self._snap_civ.astype(np.float32))
            s["displaced"].append((m.idp_origin + m.ref_origin).astype(np.float32))
            s["grievance"].append(m.grievance.astype(np.float32))
            s["population"].append(m.population_present.astype(np.float32))
            self._snap_violence = np.zeros(m.n_cells)
            self._snap_civ = np.zeros(m.n_cells)

    # ------------------------------------------------------------------ tables
    def weekly_table(self) -> pa.Table:
        m = self.model
        T = len(self.dates)
        R = len(REGIONS)
        cols: dict[str, pa.Array] = {
            "week": pa.array(np.repeat(np.arange(T, dtype=np.int32), R)),
            "week_start": pa.array(np.repeat(np.array(self.dates, dtype="datetime64[D]"), R), type=pa.date32()),
            "region": pa.array(np.tile(np.array(REGIONS, dtype=object), T), type=pa.string()),
        }
        for j, name in enumerate(EVENT_TYPE_COLUMNS):
            cols[name] = pa.array(self.events[:T, :, j].ravel())
        cols["events_militant_islamist"] = pa.array(self.mi_events[:T].ravel())
        cols["fatalities_combatant"] = pa.array(self.fat_combat[:T].ravel())
        cols["fatalities_civilian"] = pa.array(self.fat_civ[:T].ravel())
        cols["population"] = pa.array(self.population[:T].ravel())
        cols["idps_hosted"] = pa.array(self.idp_host[:T].ravel())
        cols["idps_origin"] = pa.array(self.idp_origin[:T].ravel())
        cols["refugees_origin"] = pa.array(self.ref_origin[:T].ravel())
        for a, aid in enumerate(m.actor_ids):
            cols[f"strength_{aid}"] = pa.array(self.strength[:T, :, a].ravel())
        for f, fid in enumerate(m.factions):
            cols[f"cells_{fid}"] = pa.array(self.cells[:T, :, f].ravel())
        cols["cells_uncontrolled"] = pa.array(self.cells[:T, :, len(m.factions)].ravel())
        cols["grievance_mean"] = pa.array(self.grievance[:T].ravel())
        return pa.table(cols)

    def refugee_table(self) -> pa.Table:
        """Refugees per (week, location abroad): camps and urban hosting areas of
        sahel_sim/geography/data/locations.json, and each neighbour's generic border area;
        sum over ``location`` for a country's total."""
        T = len(self.dates)
        names = np.array(self.model.refuge.abroad_names, dtype=object)
        countries = np.array(self.model.refuge.abroad_countries, dtype=object)
        keep = np.array([k != "crossing" for k in self.model.refuge.graph.kind[self.model.refuge.G:]], dtype=bool)
        names, countries = names[keep], countries[keep]
        L = names.size
        return pa.table({
            "week": pa.array(np.repeat(np.arange(T, dtype=np.int32), L)),
            "week_start": pa.array(np.repeat(np.array(self.dates, dtype="datetime64[D]"), L), type=pa.date32()),
            "country": pa.array(np.tile(countries, T), type=pa.string()),
            "location": pa.array(np.tile(names, T), type=pa.string()),
            "refugees": pa.array(self.refugees_at[:T][:, keep].ravel()),
        })

    def snapshots(self):
        from sahel_sim.run import CellSnapshots

        m = self.model
        s = self._snaps
        n, F = m.n_cells, len(m.factions)

        def stack(key: str, shape: tuple[int, ...], dtype) -> np.ndarray:
            return np.stack(s[key]).astype(dtype) if s[key] else np.zeros((0, *shape), dtype=dtype)

        return CellSnapshots(
            dates=tuple(s["dates"]), gid=m.grid.gid.copy(), factions=tuple(m.factions),
            control=stack("control", (n,), np.int8), influence=stack("influence", (F, n), np.float32),
            violence=stack("violence", (n,), np.float32), civilian_deaths=stack("civ", (n,), np.float32),
            displaced=stack("displaced", (n,), np.float32), grievance=stack("grievance", (n,), np.float32),
            population=stack("population", (n,), np.float32),
        )

    def national_frame(self):
        """National weekly series so far as a pandas DataFrame (live charts in the app)."""
        import pandas as pd

        m = self.model
        T = len(self.dates)
        data = {"week_start": pd.to_datetime(np.array(self.dates, dtype="datetime64[D]"))}
        for j, name in enumerate(EVENT_TYPE_COLUMNS):
            data[name] = self.events[:T, :, j].sum(axis=1)
        data["events_militant_islamist"] = self.mi_events[:T].sum(axis=1)
        for a, aid in enumerate(m.actor_ids):
            data[f"events_actor_{aid}"] = self.actor_events[:T, a]
        data["fatalities_civilian"] = self.fat_civ[:T].sum(axis=1)
        data["fatalities_combatant"] = self.fat_combat[:T].sum(axis=1)
        data["idps"] = self.idp_host[:T].sum(axis=1)
        data["refugees"] = self.refugees[:T].sum(axis=1)
        for f, fid in enumerate(m.factions):
            data[f"cells_{fid}"] = self.cells[:T, :, f].sum(axis=1)
        for a, aid in enumerate(m.actor_ids):
            data[f"strength_{aid}"] = self.strength[:T, :, a].sum(axis=1)
        return pd.DataFrame(data)
