"""A job's face in a panel: progress bar, status line, live loss plot and Stop.

:class:`JobView` starts a :mod:`napari_sleap.jobs` target in its own process and
polls it from a Qt timer, so the viewer stays responsive and never imports
TensorFlow. Panels pass callbacks for the data the job streams (losses, batches)
and for its end. :class:`LossPlot` draws loss curves with QPainter (no
matplotlib).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QPointF, QRectF, Qt, QTimer
from qtpy.QtGui import QColor, QPainter, QPainterPath, QPen
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.jobs import BACKGROUND_NICE, JobEvent, JobHandle, start_job

#: Curve colors, cycled: validation curves share their training curve's color.
COLORS = ("#4fa3ff", "#ff9f43", "#2ed573", "#e056fd", "#ffd32a", "#ff6b81")


class LossPlot(QWidget):
    """Loss curves by (fractional) epoch on a log scale; ``val_`` curves are dashed.

    Series are added point by point with :meth:`add`; the plot rescales itself.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.setMinimumHeight(200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def clear(self) -> None:
        """Forget every curve."""
        self.series.clear()
        self.update()

    def add(self, name: str, x: float, y: float) -> None:
        """Append a point to curve ``name`` (ignored unless positive and finite)."""
        if y is None or not math.isfinite(y) or y <= 0:
            return
        self.series.setdefault(name, []).append((float(x), float(y)))
        self.update()

    def _color(self, name: str) -> QColor:
        base = name.replace("val_", "", 1)
        bases = list(dict.fromkeys(n.replace("val_", "", 1) for n in self.series))
        return QColor(COLORS[bases.index(base) % len(COLORS)])

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        """Draw axes, curves and, below them, a legend."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#262930"))
        names = list(self.series)
        legend_rows = (len(names) + 1) // 2
        left, top, right = 66.0, 10.0, 12.0
        bottom = 26.0 + 16.0 * legend_rows
        w = self.width() - left - right
        h = self.height() - top - bottom
        area = QRectF(left, top, w, h)
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawRect(area)
        points = [pt for s in self.series.values() for pt in s]
        p.setPen(QColor("#cccccc"))
        if not points or w <= 0 or h <= 0:
            p.drawText(
                area, Qt.AlignmentFlag.AlignCenter, "losses appear after a few steps"
            )
            p.end()
            return
        xs = [x for x, _ in points]
        ys = [math.log10(y) for _, y in points]
        x0, x1 = min(xs), max(max(xs), min(xs) + 1)
        y0, y1 = min(ys), max(ys)
        if y1 - y0 < 1e-6:
            y0, y1 = y0 - 0.5, y1 + 0.5
        pad = 0.05 * (y1 - y0)
        y0, y1 = y0 - pad, y1 + pad

        def to_px(x: float, y: float) -> QPointF:
            return QPointF(
                left + (x - x0) / (x1 - x0) * w,
                top + (1 - (math.log10(y) - y0) / (y1 - y0)) * h,
            )

        p.drawText(QRectF(0, top - 6, left - 6, 14), _right, f"{10**y1:.3g}")
        p.drawText(QRectF(0, top + h - 8, left - 6, 14), _right, f"{10**y0:.3g}")
        p.drawText(QRectF(left, top + h + 4, 60, 16), _left, f"{x0:g}")
        p.drawText(QRectF(left + w - 80, top + h + 4, 80, 16), _right, f"epoch {x1:g}")
        col_w = (self.width() - 20) / 2
        for k, name in enumerate(names):
            pts = self.series[name]
            pen = QPen(self._color(name), 2)
            if name.startswith("val_") or "/val_" in name:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            path = QPainterPath(to_px(*pts[0]))
            for pt in pts[1:]:
                path.lineTo(to_px(*pt))
            p.drawPath(path)
            p.drawEllipse(to_px(*pts[-1]), 2.5, 2.5)
            lx = 10 + (k % 2) * col_w
            ly = top + h + 24 + 16 * (k // 2)
            p.drawLine(QPointF(lx, ly + 7), QPointF(lx + 22, ly + 7))
            p.setPen(QColor("#dddddd"))
            label = name.replace("/val_loss", " val").replace("/loss", "")
            p.drawText(QRectF(lx + 28, ly, col_w - 30, 14), _left, label)
        p.end()


def _step_text(step: dict, rate: float, ended: str = "") -> str:
    """``centroid (1/2): step 40/300, epoch 1.3, loss 0.012, 2.1 steps/s, ~2 min left``.

    With ``ended`` (a finished or stopped job) the rate and time left give way to it.
    """
    done, total = int(step["step"]), int(step["total"])
    models = int(step.get("models", 1))
    which = f" ({step['model']}/{models})" if models > 1 else ""
    text = (
        f"{step.get('role', '')}{which}: step {done}/{total}, epoch "
        f"{step['epoch']:.1f}, loss {step['loss']:.4g}"
    )
    if ended:
        return f"{text} ({ended})"
    if rate > 0:
        text += f", {rate:.2f} steps/s, ~{_duration((total - done) / rate)} left"
    return text


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min`` or ``1.5 h``, for time-left estimates."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class JobView(QWidget):
    """Runs one job at a time and shows how it goes.

    A training's ``step`` events move a progress line (model, step, loss, rate,
    time left) and add running-loss points to the plot every few steps; its
    ``epoch`` events add the validation loss.

    Args:
        losses: Show a :class:`LossPlot` (for training).
        interval_ms: How often the job is polled.
        stop_grace_s: How long Stop waits for a clean end (a training finishes
            its step, validates and saves) before the process is terminated.
    """

    def __init__(
        self, losses: bool = False, interval_ms: int = 100, stop_grace_s: float = 5.0
    ) -> None:
        super().__init__()
        self.handle: JobHandle | None = None
        self.stop_grace_s = stop_grace_s
        self.has_error = False
        self._step_roles: set[str] = set()
        self._model_t0: dict[str, tuple[float, int]] = {}
        self._last_step: dict | None = None
        self._on_data: dict[str, Callable[[Any], None]] = {}
        self._on_end: Callable[[JobHandle], None] | None = None
        self._t0 = 0.0
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the job (training keeps its best model)")
        self.stop_btn.setEnabled(False)
        self.stop_btn.clicked.connect(lambda *_: self.stop())
        row.addWidget(self.bar, 1)
        row.addWidget(self.stop_btn)
        root.addLayout(row)
        self.status = QLabel("idle")
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        #: One line per training step report: model, step, loss, rate, time left.
        self.progress_line = QLabel("")
        self.progress_line.setWordWrap(True)
        self.progress_line.setVisible(losses)
        root.addWidget(self.progress_line)
        self.plot = LossPlot() if losses else None
        if self.plot is not None:
            root.addWidget(self.plot)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)

    def show_error(self, text: str) -> None:
        """Show a problem on the status line (red) until the next action succeeds."""
        self.status.setText(text)
        self.status.setStyleSheet("color: #ff6b6b;")
        self.has_error = True

    def clear_error(self, text: str | None = None) -> None:
        """Drop a shown problem (and show ``text`` instead, if given)."""
        if self.has_error:
            self.status.setStyleSheet("")
            self.status.setText(text if text is not None else "idle")
            self.has_error = False
        elif text is not None:
            self.status.setText(text)

    def guard(self, fn: Callable[[], Any]) -> Any:
        """Run a button's action; show its problem here, or clear the last one."""
        try:
            out = fn()
        except (ValueError, FileNotFoundError, RuntimeError) as err:
            self.show_error(str(err))
            return None
        self.clear_error()
        return out

    @property
    def running(self) -> bool:
        """True while a job runs."""
        return self.handle is not None and not self.handle.done

    def start(
        self,
        target: str,
        kwargs: dict[str, Any],
        *,
        on_data: dict[str, Callable[[Any], None]] | None = None,
        on_end: Callable[[JobHandle], None] | None = None,
        what: str = "job",
    ) -> JobHandle:
        """Start ``target`` in a job process; ``on_data[name](value)`` per data event.

        Raises:
            RuntimeError: A job of this view is still running.
        """
        if self.running:
            raise RuntimeError(f"a {what} is still running: stop it first")
        self._on_data = dict(on_data or {})
        self._on_end = on_end
        self._what = what
        if self.plot is not None:
            self.plot.clear()
        self._step_roles.clear()
        self._model_t0.clear()
        self._last_step = None
        self.progress_line.setText("")
        self.bar.setRange(0, 0)  # busy until the first progress event
        self.clear_error()
        self.status.setText(f"starting {what} (a separate process)...")
        self._t0 = time.monotonic()
        # below the viewer's priority: frame steps and edits first, the job gets
        # every core the viewer leaves idle
        self.handle = start_job(target, kwargs, nice=BACKGROUND_NICE)
        self.stop_btn.setEnabled(True)
        self._timer.start()
        return self.handle

    def stop(self) -> None:
        """Ask the job to stop (it is terminated if it does not within seconds)."""
        if self.running:
            self.status.setText(f"stopping {self._what}...")
            self.stop_btn.setEnabled(False)
            self.handle.stop(grace_s=self.stop_grace_s)

    def poll(self) -> list[JobEvent]:
        """Read and show the job's new events (the timer calls this)."""
        if self.handle is None:
            return []
        events = self.handle.poll()
        for event in events:
            self._show(event)
        if self.handle.done:
            self._timer.stop()
            self.stop_btn.setEnabled(False)
            self._finish(self.handle)
        return events

    def _show(self, event: JobEvent) -> None:
        if event.kind == "progress" and event.total > 0:
            self.bar.setRange(0, event.total)
            self.bar.setValue(min(event.done, event.total))
            rate = event.done / max(time.monotonic() - self._t0, 1e-9)
            self.bar.setFormat(f"%v / %m  ({rate:.1f}/s)")
        elif event.kind == "data":
            if event.message == "log":
                self.status.setText(str(event.value))
            elif event.message == "stage":
                self.status.setText(f"{self._what}: {event.value}...")
            elif event.message == "epoch" and self.plot is not None:
                self._plot_epoch(event.value)
            elif event.message == "step" and self.plot is not None:
                self._plot_step(event.value)
            callback = self._on_data.get(event.message)
            if callback is not None:
                callback(event.value)

    def _plot_step(self, step: dict) -> None:
        """A running-loss point and the progress line from a ``step`` event."""
        role = str(step.get("role", ""))
        self._step_roles.add(role)
        self.plot.add(f"{role}/loss" if role else "loss", step["epoch"], step["loss"])
        now = time.monotonic()
        t0, s0 = self._model_t0.setdefault(role, (now, int(step["step"])))
        done = int(step["step"])
        rate = (done - s0) / (now - t0) if now > t0 and done > s0 else 0.0
        self._last_step = step
        self.progress_line.setText(_step_text(step, rate))

    def _plot_epoch(self, logs: dict) -> None:
        role = logs.get("role", "")
        epoch = float(logs.get("epoch", 0)) + 1
        # With step points the running loss is drawn already; add validation.
        keys = ("val_loss",) if role in self._step_roles else ("loss", "val_loss")
        for key in keys:
            if key in logs:
                self.plot.add(f"{role}/{key}" if role else key, epoch, logs[key])
        self.status.setText(
            f"{role} epoch {epoch:g}: loss {logs.get('loss', float('nan')):.4g}"
            + (f", val {logs['val_loss']:.4g}" if "val_loss" in logs else "")
        )

    def _finish(self, handle: JobHandle) -> None:
        took = time.monotonic() - self._t0
        if self._last_step is not None:
            self.progress_line.setText(
                _step_text(self._last_step, 0.0, ended=f"last report; {handle.status}")
            )
        if handle.status == "done":
            done, total = handle.progress or (1, 1)
            self.bar.setRange(0, max(total, 1))
            self.bar.setValue(max(total, 1))
            self.bar.setFormat("%v / %m")
            self.status.setText(f"{self._what} done in {took:.0f} s")
        elif handle.status in ("stopped", "killed"):
            self.bar.setRange(0, 1)
            self.status.setText(f"{self._what} stopped after {took:.0f} s")
        else:
            self.bar.setRange(0, 1)
            self.show_error(f"{self._what} failed: {handle.error}")
        if self._on_end is not None:
            self._on_end(handle)

    def wait(self, timeout: float = 60.0) -> str:
        """Poll until the job ends (for scripts and tests); returns its status."""
        from qtpy.QtWidgets import QApplication

        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            QApplication.processEvents()
            self.poll()
            time.sleep(0.05)
        return self.handle.status if self.handle is not None else "idle"
