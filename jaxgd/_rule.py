"""The update rule of one lane: plain descent, or an optax optimiser, with what it reads per lane.

A lane is one run. Besides its position ``x`` (a scalar, or a point of R^d) it holds values
that stay fixed during the run, its *constants*: the learning rate, the optimiser's
hyperparameters, and the parameter ``theta`` of ``f(x, theta)``; and values that evolve with
``x``, its *state* (the optimiser's, empty for plain descent). A :class:`Rule` is everything
static about how a lane steps: ``f``, the math, the optimiser's structure, which
hyperparameters are traced, the schedule. It is hashable, a ``jax.jit`` static argument, so
new values of every constant reuse the compiled step.

The functions here work on one lane (unbatched); the engine vmaps them. Plain descent,
``x - lr * f'(x)``, computes exactly what the engine computed before it knew of optimisers.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax

from jaxgd import fastmath

__all__ = ["Optimizer", "Rule"]


def _content_key(obj: Any) -> Any:
    """A hashable key equal for equal ``functools.partial`` trees, else ``obj`` itself."""
    if isinstance(obj, functools.partial):
        try:
            kw = tuple(sorted(obj.keywords.items()))
            key = (functools.partial, _content_key(obj.func), obj.args, kw)
            hash(key)
            return key
        except TypeError:
            return obj
    return obj


class _ByContent:
    """Equal to another of its class holding equal contents: ``_key`` from
    :func:`_content_key`, so two equal ``functools.partial`` objects (same function, same
    arguments) compare equal and a rebuilt partial does not recompile; anything else compares
    by identity, as ``jax.jit`` does."""

    __slots__ = ("_key",)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


class Optimizer(_ByContent):
    """An optimiser factory ``learning_rate -> optax.GradientTransformation``, with a name.

    Rebuilding ``partial(optax.sgd, momentum=0.9)`` for every call does not recompile (see
    :class:`_ByContent`).
    """

    __slots__ = ("factory", "name")

    def __init__(self, factory: Callable, name: str):
        self.factory = factory
        self.name = name
        self._key = _content_key(factory)

    def __repr__(self) -> str:
        return f"Optimizer({self.name})"

    def transformation(self, learning_rate: Any, hyperparams: Mapping[str, Any]):
        """The optax transformation with the rate and the swept hyperparameters injected
        (traced); the factory's other keywords keep their Python values, as in optax's own
        loop (injected, ``b2=0.999`` became a float32 array and ``1 - b2`` another number:
        adam was 72 ulps from optax after one float32 step)."""
        import optax  # only a sweep with an optimiser needs optax

        factory = self.factory
        named_rate = _names_parameter(factory, "learning_rate")
        # inject_hyperparams binds the factory's own signature and passes each parameter by
        # its name: a rate named otherwise (lambda lr: optax.sgd(lr)) would go missing, and
        # keywords that only a **kwargs takes would arrive as one keyword named after it
        # (def opt(learning_rate, **kw) called as opt(learning_rate=..., kw={'b1': ...})).
        # Those factories are called through a wrapper that names the rate and each key.
        if named_rate is False or any(_names_parameter(factory, k) is False for k in hyperparams):

            def factory(learning_rate, **swept):
                if named_rate:
                    return self.factory(learning_rate=learning_rate, **swept)
                return self.factory(learning_rate, **swept)  # the rate goes first, by position

            # Named one by one, as inject_hyperparams binds and injects them.
            keyword = inspect.Parameter.KEYWORD_ONLY
            factory.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                [
                    inspect.Parameter("learning_rate", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                    *(inspect.Parameter(k, keyword) for k in hyperparams),
                ]
            )

        static = _unswept(factory, hyperparams)
        return optax.inject_hyperparams(factory, static_args=static)(
            learning_rate=learning_rate, **hyperparams
        )


def _unswept(factory: Callable, swept: Mapping[str, Any]) -> tuple[str, ...]:
    """The keywords of ``factory`` that are neither the rate nor swept: left static."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # no signature to read: optax injects what it can
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(
        name
        for name, p in parameters.items()
        if p.kind in kinds and name != "learning_rate" and name not in swept
    )


class Schedule(_ByContent):
    """A schedule factory ``rate -> optax schedule``, equal to another of the same contents:
    rebuilding ``partial(optax.exponential_decay, transition_steps=100, decay_rate=0.5)`` for
    every call does not recompile (see :class:`_ByContent`).
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Callable):
        self.fn = fn
        self._key = _content_key(fn)

    def __repr__(self) -> str:
        return f"Schedule({self.fn!r})"

    def __call__(self, rate: Any) -> Any:
        return self.fn(rate)


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one lane steps; static and hashable.

    Attributes:
        f: the function descended, ``f(x)`` or, with ``theta``, ``f(x, theta)``.
        fast: sin/cos from :mod:`jaxgd.fastmath` in the differentiated ``f``.
        optimizer: None for plain descent, else the optax optimiser.
        hyper: the hyperparameter keywords the lanes carry (traced), in order.
        schedule: None, or ``rate -> schedule``; step ``t`` then uses ``schedule(rate)(t)``,
            counted by the optimiser's state (plain descent with a schedule runs as
            ``optax.sgd``, which is the same update, so it counts exactly as optax does).
        theta: whether ``f`` takes a parameter.
    """

    f: Callable
    fast: bool = False
    optimizer: Optimizer | None = None
    hyper: tuple[str, ...] = ()
    schedule: Callable | None = None
    theta: bool = False

    # -- f and its derivatives, per lane ------------------------------------------------
    def _fun(self) -> Callable:
        if self.theta:
            return self.f
        f = self.f
        return lambda x, theta: f(x)

    def grad(self, x: jax.Array, c: Mapping[str, Any]) -> jax.Array:
        """``f'(x)``, sin/cos rewritten when ``fast`` (before any vmap, so batched = unbatched)."""
        if not self.theta:  # the derivative exactly as plain descent has always computed it
            return fastmath.rewrite(jax.grad(self.f), enable=self.fast)(x)
        return fastmath.rewrite(jax.grad(self.f), enable=self.fast)(x, c["theta"])

    def value(self, x: jax.Array, c: Mapping[str, Any]) -> jax.Array:
        if not self.theta:
            return fastmath.rewrite(self.f, enable=self.fast)(x)
        return fastmath.rewrite(self.f, enable=self.fast)(x, c["theta"])

    # -- the update -------------------------------------------------------------------------
    def _rate(self, c: Mapping[str, Any]) -> Any:
        if self.schedule is None:
            return c["lr"]
        schedule = self.schedule(c["lr"])
        if not callable(schedule):
            raise TypeError(
                f"it returned {type(schedule).__name__}, not a schedule (a callable count -> "
                "rate such as optax.exponential_decay(rate, 100, 0.5))."
            )
        return schedule

    def _transformation(self, c: Mapping[str, Any]):
        assert self.optimizer is not None
        hyper = dict(zip(self.hyper, c["hp"], strict=True))  # c["hp"]: values in that order
        return self.optimizer.transformation(self._rate(c), hyper)

    def init(self, x: jax.Array, c: Mapping[str, Any]) -> Any:
        """The state of a lane starting at ``x``: ``()`` for plain descent."""
        if self.optimizer is None:
            return ()
        return self._transformation(c).init(x)

    def update(
        self, t: jax.Array, x: jax.Array, s: Any, c: Mapping[str, Any], g: jax.Array
    ) -> tuple[jax.Array, Any]:
        """Step ``t`` (0 for the first) from ``x`` with gradient ``g``: the new ``x`` and state."""
        if self.optimizer is None:
            return x - c["lr"] * g, s
        import optax

        updates, s = self._transformation(c).update(g, s, x)
        return optax.apply_updates(x, updates), s

    @property
    def stateful(self) -> bool:
        return self.optimizer is not None


def takes_positional(factory: Callable) -> bool | None:
    """Whether ``factory`` can be called with one positional argument (None: unknown)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    try:
        sig.bind(0.1)
    except TypeError:
        return False
    return True


def _names_parameter(factory: Callable, name: str) -> bool | None:
    """Whether ``factory`` has a parameter called ``name`` that a keyword can fill (not only
    a ``**kwargs``); None when its signature is unknown."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    return any(
        p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params
    )


def takes_keyword(factory: Callable, name: str) -> bool | None:
    """Whether ``factory`` accepts keyword ``name``, by name or through ``**kwargs`` (None
    when its signature is unknown)."""
    named = _names_parameter(factory, name)
    if named is not False:
        return named
    params = inspect.signature(factory).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def batched(fun: Callable, *unbatched: int) -> Callable:
    """``fun`` over (rows, 64) lanes: vmapped twice, the arguments at ``unbatched`` shared."""

    def axes(n: int) -> tuple:
        return tuple(None if i in unbatched else 0 for i in range(n))

    def run(*args):
        return jax.vmap(jax.vmap(fun, in_axes=axes(len(args))), in_axes=axes(len(args)))(*args)

    return run
