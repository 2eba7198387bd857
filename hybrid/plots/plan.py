"""The planner's figure: AR against depth (ideal, noisy, each mitigation), QPU cost on a second axis.

Input: one graph entry of ``plan.json`` (:func:`hybrid.plan.plan_graph`). Written as
``plan_<graph>.png|svg``; returns the paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .style import AR_LABEL, OKABE_ITO, _new_figure, _no_data, _save, _slug


def plot_plan(entry: Mapping[str, Any], out_dir: str | Path, prefix: str = "plan") -> list[Path]:
    """AR vs p: the ideal line, the noisy line, one line per mitigation; QPU seconds per run (dotted, right axis)."""
    rows = [r for r in entry["rows"] if "error" not in r]
    noisy_rows = [r for r in entry["rows"] if r.get("noisy_ar") is not None]
    fig = _new_figure(6.4, 5.0)
    ax = fig.add_subplot(1, 1, 1)
    cost_ax = ax.twinx()
    ideal = {r["p"]: r["ideal_ar"] for r in entry["rows"]}
    depths = sorted(ideal)
    if not depths:
        _no_data(ax)
    else:
        ax.plot(depths, [ideal[p] for p in depths], color="#000000", marker="o", label="ideal")
        noisy = {r["p"]: r["noisy_ar"] for r in noisy_rows}
        if noisy:
            ps = sorted(noisy)
            ax.plot(ps, [noisy[p] for p in ps], color=OKABE_ITO[0], marker="s", linestyle="--", label="noisy, predicted")
        mitigations = [m for m in dict.fromkeys(r["mitigation"] for r in rows) if m != "none"]
        for i, m in enumerate(mitigations, start=1):
            pts = sorted((r["p"], r["mitigated_ar"]) for r in rows if r["mitigation"] == m)
            ax.plot([p for p, _ in pts], [a for _, a in pts], color=OKABE_ITO[i % len(OKABE_ITO)], marker="^",
                    linestyle="-.", label=f"{m}, predicted")
        costed = entry["rows"]  # the cost is known even where a prediction failed
        mitigations += [m for m in dict.fromkeys(r["mitigation"] for r in costed) if m != "none" and m not in mitigations]
        for m in dict.fromkeys(r["mitigation"] for r in costed):
            pts = sorted((r["p"], r["qpu_seconds_per_run"]) for r in costed if r["mitigation"] == m)
            colour = OKABE_ITO[0] if m == "none" else OKABE_ITO[(mitigations.index(m) + 1) % len(OKABE_ITO)]
            cost_ax.plot([p for p, _ in pts], [s for _, s in pts], color=colour, marker="x", linestyle=":",
                         alpha=0.8, label=f"QPU s per run, {m}")
        rec = entry.get("recommendation") or {}
        if rec.get("p") is not None:
            ax.scatter([rec["p"]], [rec["predicted_ar"]], s=160, facecolors="none", edgecolors="#000000",
                       linewidths=1.5, zorder=5, label=f"recommended: p = {rec['p']}, {rec['mitigation']}")
        ax.set_xticks(depths)
        handles, labels = ax.get_legend_handles_labels()
        cost_handles, cost_labels = cost_ax.get_legend_handles_labels()
        fig.legend(handles + cost_handles, labels + cost_labels, loc="outside lower center", ncols=3, fontsize=7)
        cost_ax.set_ylim(bottom=0)
    ax.set_xlabel("QAOA depth p")
    ax.set_ylabel(AR_LABEL)
    cost_ax.set_ylabel("estimated QPU seconds per run")
    ax.set_title(f"{entry['graph']} (n = {entry['n']}): predicted AR and QPU cost")
    return _save(fig, out_dir, f"{prefix}_{_slug(entry['graph'])}")
