"""The machinery every metric of the torch adapter shares.

An ``update`` checks what Python knows (types, shapes, lengths) at once and raises there;
the batch is then appended, as one copy on its device, to a pending list. Every
``flush_elements`` pending values, and before ``compute``, a sync, ``forward``'s merge or a
``state_dict``, the pending batches are checked and summarised together in torch
operations (``_steps.py``) and merged into the states. A batch that fails a value check
(NaN under ``nan_policy="raise"``, inf, a label out of range, a score outside
``score_range``) is given weight 0, so the states are exactly as if it had never been
passed, and its first problem is kept in the ``refusal`` state, which ``compute()`` turns
into the ``ValueError`` the core would have raised. Value checks are deferred because
raising at ``update`` would need the device to tell the host, a synchronisation per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torchmetrics
from torch import Tensor

from .._validation import _fmt_value
from . import _steps

__all__: list[str] = []

_F64 = torch.float64
_REAL = (torch.bool, torch.uint8, torch.uint16, torch.uint32, torch.uint64, torch.int8,
         torch.int16, torch.int32, torch.int64, torch.float16, torch.bfloat16, torch.float32,
         torch.float64)


def _as_tensor(x: Any, name: str, device: torch.device) -> Tensor:
    """``x`` as a detached tensor on ``device`` (a no-op for a tensor already there)."""
    if not isinstance(x, Tensor):
        try:  # through NumPy, so that Python floats stay float64 (not torch's float32)
            x = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor of numbers, got "
                            f"{type(x).__name__}: {exc}") from None
    if x.dtype not in _REAL:
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    return x.detach().to(device)


def _check_length(n_true: int, n_pred: int, names: tuple[str, str]) -> None:
    if n_true != n_pred:
        raise ValueError(f"{names[0]} has {n_true} samples, {names[1]} has {n_pred}; they "
                         "must have the same length")


def _pieces(value: list[Tensor] | Tensor) -> list[Tensor]:
    """The pending batches of a list state (after a sync torchmetrics leaves a tensor)."""
    if isinstance(value, Tensor):
        if value.numel():  # pragma: no cover - pending batches are flushed before any sync
            raise RuntimeError("pending batches were synced before being summarised")
        return []
    return value


class _DeviceMetric(torchmetrics.Metric):
    """Base of the adapter's metrics: pending batches, deferred checks, atomic forward."""

    full_state_update = False
    is_differentiable = False
    #: Rows kept pending before they are summarised into the states; None (the default):
    #: as many as make ``flush_elements`` values, enough to share a summary's fixed cost (a
    #: few dozen operations), few enough that each operation stays under torch's intra-op
    #: parallel grain (32,768 elements) on the CPU, where a busy machine makes parallel
    #: regions many times slower.
    flush_rows: int | None = None
    flush_elements = 1 << 14
    _pending_names: tuple[str, ...] = ()
    _names = ("target", "preds")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("refusal", default=torch.zeros(_steps.RECORD, dtype=_F64),
                       dist_reduce_fx=_steps.reduce_refusals)

    @property
    def dtype(self) -> torch.dtype:
        """The states are float64 whatever torch's default dtype.

        torchmetrics stands in ``torch.tensor([], dtype=self.dtype)`` for the list state
        of a rank that saw no data; it must have the states' dtype for the gather.
        """
        return _F64

    def _apply(self, fn: Callable[[Tensor], Tensor], exclude_state: Sequence[str] = ()
               ) -> torch.nn.Module:
        """Move the states where ``fn`` moves tensors, keeping their dtypes.

        torchmetrics converts floating states under ``module.to(dtype)`` (what Lightning's
        ``"16-true"``/``"bf16-true"`` precision does to the whole model) and ``set_dtype``;
        float64 moments, scores and refusal positions rounded to 16 bits would be other
        numbers than the core's, so only the device follows.
        """
        device = fn(torch.zeros(1, device=self.device)).device
        return super()._apply(lambda tensor: tensor.to(device), exclude_state)

    def _add_options_state(self, options: Sequence[float]) -> None:
        """A constant state of the options that decide what a batch adds to the states.

        ``MetricCollection`` shares one state among the metrics of a compute group, which it
        forms from metrics whose states are equal after the first update. The batches wait
        unprocessed in the pending states, so ``AUROC(scores="logits")`` and
        ``AUROC(scores="auto")``, or two ``nan_policy``, would look equal and share a state
        filled by the options of one of them; this state tells them apart.
        """
        self.add_state("options", default=torch.tensor(options, dtype=_F64),
                       dist_reduce_fx=_steps.first_of)

    # -- pending batches -------------------------------------------------------------------

    def _state_device(self) -> torch.device:
        return self.refusal.device

    def _maybe_flush(self) -> None:
        for name in self._pending_names:
            batches = _pieces(getattr(self, name))
            if not batches:
                continue
            limit = self.flush_rows or max(1, self.flush_elements // batches[0].shape[1])
            if sum(piece.shape[0] for piece in batches) >= limit:
                self._flush()
                return

    def _flush(self) -> None:
        """Summarise the pending batches into the states (no host copy, no sync)."""
        device = self._state_device()  # compute_on_cpu may have moved the list states
        pieces = {name: [piece.to(device) for piece in _pieces(getattr(self, name))]
                  for name in self._pending_names}
        if any(piece.shape[0] for batches in pieces.values() for piece in batches):
            self._consume(pieces)
        for name in self._pending_names:
            setattr(self, name, [])

    def _consume(self, pieces: dict[str, list[Tensor]]) -> None:
        raise NotImplementedError

    def _sync_dist(self, *args: Any, **kwargs: Any) -> None:
        self._flush()  # whole states travel, never unchecked batches
        super()._sync_dist(*args, **kwargs)

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The module's state dict, with the pending batches summarised first."""
        self._flush()
        return super().state_dict(*args, **kwargs)

    def merge_state(self, incoming_state: dict[str, Any] | torchmetrics.Metric) -> None:
        """torchmetrics' ``merge_state``, for a state filled as this metric fills its own.

        An incoming metric's pending batches are summarised first, by its own options. A
        state of other shapes (``num_outputs``, ``num_classes``, ``bins``) or options
        (``nan_policy``, ``scores``, ``score_range``) raises a ValueError that says so,
        instead of a torch error or a silently wrong merge.
        """
        if isinstance(incoming_state, type(self)):
            incoming_state._flush()
            states = incoming_state.metric_state
        else:
            states = incoming_state if isinstance(incoming_state, dict) else {}
        for name, value in states.items():
            mine = self._defaults.get(name)
            if isinstance(mine, Tensor) and isinstance(value, Tensor) \
                    and value.shape != mine.shape:
                raise ValueError(f"the incoming state's {name!r} has shape "
                                 f"{tuple(value.shape)}, this metric's {tuple(mine.shape)}: "
                                 "it comes from a metric of another num_outputs, "
                                 "num_classes or bins")
        options = states.get("options")
        if isinstance(options, Tensor) and not torch.equal(options.to(self.options), self.options):
            raise ValueError("the incoming state comes from a metric of other options "
                             "(nan_policy, scores or score_range); merge states of metrics "
                             "built alike")
        super().merge_state(incoming_state)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        """Load the states after checking them: shapes, options and invariants.

        A state saved by a metric of another ``num_outputs``/``num_classes``/``bins`` or
        other options, or an impossible one (a negative count), raises a ValueError naming
        the entry before anything is loaded; float states are loaded as float64.
        """
        for name, default in self._defaults.items():
            key = prefix + name
            value = state_dict.get(key)
            if not (isinstance(default, Tensor) and isinstance(value, Tensor)):
                continue
            if value.shape != default.shape:
                raise ValueError(f"state_dict entry {key!r} has shape {tuple(value.shape)}, "
                                 f"this metric's {tuple(default.shape)}: it was saved by a "
                                 "metric of another num_outputs, num_classes or bins")
            value = value.detach().to(default.dtype)
            if name == "options" and not torch.equal(value.cpu(), default.cpu()):
                raise ValueError(f"state_dict entry {key!r}: it was saved by a metric of "
                                 "other options (nan_policy, scores or score_range)")
            self._check_loaded(key, value)
            state_dict[key] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_loaded(self, key: str, value: Tensor) -> None:
        """Subclasses: raise a ValueError naming ``key`` if ``value`` is impossible."""

    # -- refusals ----------------------------------------------------------------------------

    def _record_refusal(self, checks: list[_steps.Check], batch_bad: Tensor,
                        ids: Tensor) -> None:
        record = _steps.first_refusal(checks, batch_bad, ids)
        self.refusal = _steps.keep_first_refusal(self.refusal, record)

    def _describe(self, code: int, argument: int, value: float) -> str:
        """Subclasses: the message of a label or score-range refusal."""
        raise NotImplementedError

    def _raise_if_refused(self) -> None:
        """Raise the core's ValueError for the first batch refused (host read of 7 numbers)."""
        record = self.refusal.detach().cpu().tolist()
        code, argument, row, col, value, count, _ = record
        if code == 0:
            return
        code, argument, row, col, count = (int(v) for v in (code, argument, row, col, count))
        name = self._names[argument % 2 + 2 * (argument // 4)]
        pos = (row, col) if argument % 4 >= 2 else row
        if code == _steps.INF:
            message = (f"{name} contains {count} infinite value(s); the first is "
                       f"{_fmt_value(value)} at position {pos}")
        elif code == _steps.NAN:
            message = (f"{name} contains {count} NaN value(s); the first is at position {pos} "
                       "(nan_policy='raise'; pass nan_policy='omit' to drop the samples that "
                       "have a NaN)")
        else:
            message = self._describe(code, argument, value).format(name=name, pos=pos)
        raise ValueError(f"{message} [in a batch given to update(); that batch was left out "
                         "of the state, which holds the others]")

    # -- forward -----------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The batch's value, accumulating the batch; a refused batch changes nothing.

        torchmetrics' ``forward`` resets the state before it updates and computes on the
        batch; if the batch is refused, the state saved before is put back.
        """
        self._flush()
        saved = {name: list(value) if isinstance(value, list) else value
                 for name, value in self.metric_state.items()}
        count, on_cpu = self._update_count, self.compute_on_cpu
        try:
            return super().forward(*args, **kwargs)
        except BaseException:
            for name, value in saved.items():
                setattr(self, name, value)
            self._update_count, self.compute_on_cpu = count, on_cpu
            self._computed = self._forward_cache = None
            self._is_synced, self._should_unsync = False, True
            self._to_sync, self._enable_grad = self.sync_on_compute, False
            raise

    def plot(self, val: Any = None, ax: Any = None) -> Any:
        """Plot a single or multiple values from the metric (torchmetrics' convention)."""
        return self._plot(val, ax)
