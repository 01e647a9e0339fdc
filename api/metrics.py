"""Prometheus metrics in the text exposition format, without a client library (a few counters
and one histogram are all the API needs)."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    body = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + body + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Counter:
    def __init__(self, name: str, help_: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help_, labels
        self.values: dict[tuple[str, ...], float] = defaultdict(float)

    def inc(self, *values: str, by: float = 1.0) -> None:
        self.values[values] += by

    def get(self, *values: str) -> float:
        return self.values.get(values, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for key, value in sorted(self.values.items()):
            lines.append(f"{self.name}{_labels(self.labels, key)} {value:g}")
        return lines


class Histogram:
    def __init__(self, name: str, help_: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help_, labels
        self.counts: dict[tuple[str, ...], list[int]] = {}
        self.sums: dict[tuple[str, ...], float] = defaultdict(float)
        self._lock = threading.Lock()

    def observe(self, seconds: float, *values: str) -> None:
        with self._lock:
            counts = self.counts.setdefault(values, [0] * (len(BUCKETS) + 1))
            counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self.sums[values] += seconds

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, counts in sorted(self.counts.items()):
            running = 0
            for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f"{self.name}_bucket{_labels((*self.labels, 'le'), (*key, le))} {running}")
            lines.append(f"{self.name}_sum{_labels(self.labels, key)} {self.sums[key]:.6f}")
            lines.append(f"{self.name}_count{_labels(self.labels, key)} {running}")
        return lines


class Metrics:
    def __init__(self) -> None:
        self.requests = Counter("aidrop_http_requests_total", "HTTP requests by route and status.",
                                ("route", "status"))  # fmt: skip
        self.latency = Histogram("aidrop_http_request_seconds", "HTTP request latency by route.", ("route",))
        self.operations = Counter("aidrop_graphql_operations_total", "GraphQL operations by type.", ("type",))
        self.errors = Counter("aidrop_graphql_errors_total", "GraphQL errors by extensions.code.", ("code",))
        self.graph_queries = Counter("aidrop_graph_queries_total", "Graph statements sent, by name.",
                                     ("statement",))  # fmt: skip

    def render(self, gauges: dict[str, tuple[str, dict[tuple[str, str], float]]] | None = None) -> str:
        lines: list[str] = []
        for metric in (self.requests, self.latency, self.operations, self.errors, self.graph_queries):
            lines += metric.render()
        for name, (help_, series) in (gauges or {}).items():
            lines += [f"# HELP {name} {help_}", f"# TYPE {name} gauge"]
            for (label, value), number in sorted(series.items()):
                lines.append(
                    f'{name}{{{label}="{_escape(value)}"}} {number:g}' if label else f"{name} {number:g}"
                )
        return "\n".join(lines) + "\n"
