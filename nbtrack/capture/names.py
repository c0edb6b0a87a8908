"""What a cell's syntax says about its names: the candidates :func:`nbtrack.capture.extract` reads.

Only the syntax tree is read here; values come from the namespace after the cell ran. The
analysis is kept per top-level statement, so that when a cell raised, the names of the
statements after the failing one (which never ran) can be cut away (:meth:`CellNames.executed`).
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .branches import Undecided, outcome, test_names

# Blocks whose bodies may or may not run: assignments inside are conditional.
_CONDITIONAL_BLOCKS: tuple[type[ast.stmt], ...] = (ast.If, ast.With, ast.AsyncWith, ast.Try, ast.Match)
if hasattr(ast, "TryStar"):  # Python 3.11+: try/except*
    _CONDITIONAL_BLOCKS += (ast.TryStar,)

# Scopes and loops whose bindings are never candidates; ':=' inside them is skipped too.
_IGNORED_SCOPES = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.AsyncFor,
    ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
)  # fmt: skip

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Branch:
    """The bindings of one branch of a top-level ``if``, as if it were the cell's top level."""

    literals: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: _EMPTY)
    certain: frozenset[str] = frozenset()
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class Guard:
    """A top-level ``if`` whose simple test (:mod:`nbtrack.capture.branches`) tells which branch ran."""

    test: ast.expr
    names: frozenset[str]
    #: the top-level statement it is (or is nested in)
    index: int
    body: Branch
    orelse: Branch


@dataclass(frozen=True)
class Statement:
    """The names of one top-level statement, and where it is in the cell (for cutting at a failure)."""

    start: tuple[int, int]  # (line, column) of its first character
    end: tuple[int, int]
    #: name -> literals it is given unconditionally by this statement
    literals: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: _EMPTY)
    #: name -> literals it is given under if/with/try/match
    conditional: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: _EMPTY)
    bound: tuple[str, ...] = ()
    #: names bound by a plain (unconditional) assignment of this statement
    certain: frozenset[str] = frozenset()
    #: data input candidates first read in this statement
    read: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class CellNames:
    """What the syntax of a cell says about its names; the result of :func:`analyze_cell`.

    Instances are cached and shared between calls, hence the immutable fields.
    """

    #: names given a literal unconditionally at the top level, in source order
    literals: tuple[str, ...] = ()
    #: name -> literals assigned to it only under if/with/try/match (or by the statement that raised)
    conditional: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: _EMPTY)
    #: every name bound at the top level (metric candidates), in source order
    bound: tuple[str, ...] = ()
    #: names the cell reads before binding them anywhere in it (data input candidates), in order
    read: tuple[str, ...] = ()
    #: names of ``bound`` that are surely this execution's own: plain top-level assignments that ran
    certain: frozenset[str] = field(default=frozenset(), compare=False)
    #: names of ``read`` that the cell also binds later (their value after the cell is not the input)
    rebound: frozenset[str] = field(default=frozenset(), compare=False)
    #: False when the cell raised: names it did not surely bind are not taken on trust
    ran_to_end: bool = field(default=True, compare=False)
    statements: tuple[Statement, ...] = field(default=(), compare=False, repr=False)
    #: top-level ifs that ran to their end, whose test can tell which branch ran
    guards: tuple[Guard, ...] = field(default=(), compare=False, repr=False)
    #: name -> indexes of the top-level statements binding it in the cell's scope
    bound_at: Mapping[str, frozenset[int]] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    def guard_names(self) -> set[str]:
        """The names the guards' tests read (their identities are kept by the pre-run snapshot)."""
        names: set[str] = set()
        stack = list(self.guards)
        while stack:
            guard = stack.pop()
            names |= guard.names
            stack += [*guard.body.guards, *guard.orelse.guards]
        return names

    def taken(self, namespace: Mapping[str, Any], ids: Mapping[str, int]) -> CellNames:
        """The bindings of the branches that surely ran made this execution's own (see
        :mod:`nbtrack.capture.branches`); a guard whose test cannot be re-evaluated changes nothing."""
        literals = dict.fromkeys(self.literals)
        certain = set(self.certain)
        stack = list(self.guards)
        while stack:
            guard = stack.pop()
            # a test name bound by the cell only before the if holds now what the test read;
            # one bound at or after it may not; one the cell never binds must be the object it was
            earlier = {name for name in guard.names if name in self.bound_at}
            if any(max(self.bound_at[name]) >= guard.index for name in earlier):
                continue
            try:
                branch = guard.body if outcome(guard.test, namespace, ids, trusted=earlier) else guard.orelse
            except Undecided:
                continue
            literals.update(dict.fromkeys(branch.literals))
            certain |= branch.certain
            stack += branch.guards
        conditional = MappingProxyType(
            {name: values for name, values in self.conditional.items() if name not in literals}
        )
        return dataclasses.replace(self, literals=tuple(literals), conditional=conditional, certain=frozenset(certain))

    def executed(self, position: tuple[int, int] | None) -> CellNames:
        """The names of what ran when the cell raised at ``position`` (line, column; None: unknown).

        Statements before the failing one ran; the failing one ran in part, so its bindings
        need proof (they become conditional); the ones after never ran and are dropped. An
        unknown position trusts nothing and reads nothing.
        """
        index = (
            None
            if position is None
            else next((i for i, s in enumerate(self.statements) if s.start <= position <= s.end), None)
        )
        if index is None:
            ran = _merge(self.statements, partial=0, ran_to_end=False, reads=False)
        else:
            ran = _merge(self.statements[: index + 1], partial=1, ran_to_end=False)
        return dataclasses.replace(ran, rebound=self.rebound & frozenset(ran.read), bound_at=self.bound_at)


def failure_position(error: BaseException, cell_globals: Mapping[str, Any]) -> tuple[int, int] | None:
    """(line, column) in the cell where ``error`` left the cell's own code, or None if unknown.

    The cell's frame is the outermost ``<module>`` frame run in the user's globals (code the
    cell execs or imports runs in frames of its own, further in). The column comes from the
    instruction that raised (Python 3.11+), so ``a = 1; b = f()`` is told apart; without it
    the failure is placed at the start of the line, which trusts less rather than more.
    """
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals is cell_globals and frame.f_code.co_name == "<module>":
            line, column = tb.tb_lineno, 0
            positions = getattr(frame.f_code, "co_positions", None)
            if positions is not None and tb.tb_lasti >= 0:
                position = next(itertools.islice(positions(), tb.tb_lasti // 2, None), None)
                if position is not None and position[0] == line and position[2] is not None:
                    column = position[2]
            return line, column
        tb = tb.tb_next
    return None


def analyze_cell(source: str) -> CellNames:
    """Find param, metric and input candidates in a (transformed) cell; see :mod:`nbtrack.capture`.

    Cached by source (a re-run cell is analysed once), so the result is immutable.
    """
    return _analyze(source)


@lru_cache(maxsize=128)
def _analyze(source: str) -> CellNames:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: NUL bytes
        return CellNames(ran_to_end=False)
    uses = _DefUse()
    statements = []
    for index, stmt in enumerate(tree.body):
        scan = _Scan(index)
        uses.index = index
        scan.statements([stmt], conditional=False)
        if ":=" in source:  # cheap pre-check: walking every expression costs more than parsing
            for name in _walrus_targets(stmt):
                scan.bind(name, None, conditional=True)
        first_input = len(uses.inputs)
        uses.visit(stmt)
        end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
        statements.append(scan.statement((stmt.lineno, stmt.col_offset), end, tuple(list(uses.inputs)[first_input:])))
    rebound = frozenset(name for name in uses.inputs if name in uses.rebound)
    bound_at = MappingProxyType({name: frozenset(indexes) for name, indexes in uses.bound_at.items()})
    return dataclasses.replace(_merge(tuple(statements)), rebound=rebound, bound_at=bound_at)


def _merge(
    statements: tuple[Statement, ...], partial: int = 0, ran_to_end: bool = True, reads: bool = True
) -> CellNames:
    """Combine statements; the last ``partial`` of them count as run in part (all when 0 and not ran_to_end)."""
    literals: dict[str, None] = {}
    conditional: dict[str, list[Any]] = {}
    bound: dict[str, None] = {}
    certain: set[str] = set()
    read: dict[str, None] = {}
    guards: list[Guard] = []
    sure = len(statements) - partial if (ran_to_end or partial) else 0
    for index, stmt in enumerate(statements):
        for name, values in stmt.literals.items():
            if index < sure:
                literals[name] = None
            else:
                conditional.setdefault(name, []).extend(values)
        for name, values in stmt.conditional.items():
            conditional.setdefault(name, []).extend(values)
        bound.update(dict.fromkeys(stmt.bound))
        if index < sure:
            certain.update(stmt.certain)
            guards += stmt.guards
        if reads:
            read.update(dict.fromkeys(stmt.read))
    return CellNames(
        tuple(literals),
        MappingProxyType({name: tuple(values) for name, values in conditional.items() if name not in literals}),
        tuple(bound),
        tuple(read),
        frozenset(certain),
        ran_to_end=ran_to_end,
        statements=statements,
        guards=tuple(guards),
    )


class _Scan:
    """Accumulates the bindings of one top-level statement."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self.literals: dict[str, list[Any]] = {}
        self.conditional: dict[str, list[Any]] = {}
        self.bound: dict[str, None] = {}
        self.certain: set[str] = set()
        self.guards: list[Guard] = []

    def statements(self, body: list[ast.stmt], conditional: bool) -> None:
        for stmt in body:
            names = None if conditional or not isinstance(stmt, ast.If) else test_names(stmt.test)
            if names is not None:
                self.guards.append(
                    Guard(
                        stmt.test, names, self.index, _branch(stmt.body, self.index), _branch(stmt.orelse, self.index)
                    )
                )
            if isinstance(stmt, _CONDITIONAL_BLOCKS):
                for block in _blocks(stmt):
                    self.statements(block, conditional=True)
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self.target(target, stmt.value, conditional)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self.target(stmt.target, stmt.value, conditional)
            elif isinstance(stmt, ast.AugAssign):
                self.target(stmt.target, None, conditional)

    def target(self, target: ast.expr, value: ast.expr | None, conditional: bool) -> None:
        """Bind the names of one assignment target; ``value`` None means "not a literal"."""
        if isinstance(target, ast.Name):
            self.bind(target.id, value, conditional)
            if not conditional and not target.id.startswith("_"):
                self.certain.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = _pairwise(target, value) or [None] * len(target.elts)
            for element, element_value in zip(target.elts, values):
                self.target(element, element_value, conditional)
        elif isinstance(target, ast.Starred):
            self.target(target.value, None, conditional)
        # attribute and subscript targets (obj.x = 1, d["k"] = 1) bind no name

    def bind(self, name: str, value: ast.expr | None, conditional: bool) -> None:
        if name.startswith("_"):
            return
        self.bound[name] = None
        if value is None:
            return
        try:
            literal = _literal(value)
        except _NotLiteral:
            return
        (self.conditional if conditional else self.literals).setdefault(name, []).append(literal)

    def statement(self, start: tuple[int, int], end: tuple[int, int], read: tuple[str, ...]) -> Statement:
        conditional = {name: tuple(values) for name, values in self.conditional.items() if name not in self.literals}
        literals = {name: tuple(values) for name, values in self.literals.items()}
        return Statement(
            start,
            end,
            MappingProxyType(literals),
            MappingProxyType(conditional),
            tuple(self.bound),
            frozenset(self.certain),
            read,
            tuple(self.guards),
        )


def _branch(body: list[ast.stmt], index: int) -> Branch:
    scan = _Scan(index)
    scan.statements(body, conditional=False)
    literals = {name: tuple(values) for name, values in scan.literals.items()}
    return Branch(MappingProxyType(literals), frozenset(scan.certain), tuple(scan.guards))


def _blocks(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists of an if/with/try/match block."""
    if isinstance(stmt, ast.Match):
        for case in stmt.cases:
            yield case.body
        return
    for name in ("body", "orelse", "finalbody"):
        yield getattr(stmt, name, [])
    for handler in getattr(stmt, "handlers", []):
        yield handler.body


def _pairwise(target: ast.Tuple | ast.List, value: ast.expr | None) -> list[ast.expr] | None:
    """The right-side elements matching ``a, b = 1, 2`` one to one, or None."""
    if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != len(target.elts):
        return None
    if any(isinstance(node, ast.Starred) for node in (*target.elts, *value.elts)):
        return None
    return value.elts


class _NotLiteral(Exception):
    """Raised inside :func:`_literal` to abandon a right side that is not a literal."""


def _literal(node: ast.expr) -> Any:
    """Evaluate a literal right side (see :mod:`nbtrack.capture`) or raise :class:`_NotLiteral`.

    Stricter than ``ast.literal_eval``, which also accepts sets, bytes and ``1+2j``.
    """
    if isinstance(node, ast.Constant) and _is_scalar(node.value):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            return -operand.value if isinstance(node.op, ast.USub) else operand.value
    if isinstance(node, ast.List):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(element) for element in node.elts)
    if isinstance(node, ast.Dict) and None not in node.keys:  # None key: {**other}
        return {_dict_key(key): _literal(value) for key, value in zip(node.keys, node.values)}
    raise _NotLiteral


def _is_scalar(value: Any) -> bool:
    return value is None or type(value) in (bool, int, float, str)


def _dict_key(node: ast.expr | None) -> Any:
    if isinstance(node, ast.Constant) and _is_scalar(node.value):
        return node.value
    raise _NotLiteral


def _walrus_targets(tree: ast.AST) -> Iterator[str]:
    """Names bound by ``:=`` outside loops, functions, classes and comprehensions."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _IGNORED_SCOPES):
            continue
        if isinstance(node, ast.NamedExpr):
            yield node.target.id
        stack.extend(ast.iter_child_nodes(node))


class _DefUse(ast.NodeVisitor):
    """Names read before any binding of them, visiting in evaluation order.

    Def-use over the whole cell: ``for`` targets, loop bodies, comprehension variables,
    ``with ... as``, ``except ... as``, imports, functions and classes all bind. Reads in a
    function or class body count where it is defined (an approximation: the body runs later).
    """

    def __init__(self) -> None:
        self.defined: set[str] = set()
        self.inputs: dict[str, None] = {}
        self.rebound: set[str] = set()  # inputs bound after being read
        self.scopes: list[set[str]] = []  # comprehension, lambda, function and class scopes
        self.index = 0  # the top-level statement being visited
        self.bound_at: dict[str, set[int]] = {}

    def read(self, name: str) -> None:
        if name.startswith("_") or name in self.defined or any(name in scope for scope in self.scopes):
            return
        self.inputs.setdefault(name, None)

    def bind(self, name: str, cell_scope: bool = False) -> None:
        if self.scopes and not cell_scope:
            self.scopes[-1].add(name)
            return
        if name in self.inputs:
            self.rebound.add(name)
        self.defined.add(name)
        self.bound_at.setdefault(name, set()).add(self.index)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.read(node.id)
        else:  # Store, Del
            self.bind(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.read(node.target.id)
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.bind(node.target.id, cell_scope=not self._in_function())

    def _in_function(self) -> bool:
        return any(getattr(scope, "function", False) for scope in self.scopes)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in (*node.body, *node.orelse):
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def _comprehension(self, node: ast.AST, *results: ast.expr) -> None:
        self.scopes.append(set())
        for generator in node.generators:  # type: ignore[attr-defined]
            self.visit(generator.iter)
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for result in results:
            self.visit(result)
        self.scopes.pop()

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node, node.elt)

    visit_SetComp = visit_GeneratorExp = visit_ListComp  # type: ignore[assignment]

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, node.key, node.value)

    def _function(self, node: Any, params: ast.arguments, body: list) -> None:
        for default in (*params.defaults, *(d for d in params.kw_defaults if d is not None)):
            self.visit(default)
        scope = _FunctionScope(a.arg for a in (*params.posonlyargs, *params.args, *params.kwonlyargs))
        scope.update(a.arg for a in (params.vararg, params.kwarg) if a is not None)
        self.scopes.append(scope)
        for item in body:
            self.visit(item)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.bind(node.name)
        self._function(node, node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node, node.args, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.visit(expr)
        self.bind(node.name)
        self.scopes.append(set())
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bind(alias.asname or alias.name.partition(".")[0])

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bind(node.name)
        for stmt in node.body:
            self.visit(stmt)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self.bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self.bind(node.rest)


class _FunctionScope(set):
    """A function's local names; ``:=`` inside binds here, not in the cell."""

    function = True
