"""The package's walls: no import cycle (lazy imports included), the LiteRT path starts no TensorFlow,
old module paths still import with a warning."""

import ast
import os
import subprocess
import sys
import textwrap

import pytest

import cin_style

PACKAGE_DIR = os.path.dirname(os.path.abspath(cin_style.__file__))


def _module_name(path: str) -> str:
    relative = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
    return relative.removesuffix(".__init__")


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its source (functions included)."""
    paths = {}
    for root, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith(".py"):
                paths[_module_name(os.path.join(root, name))] = os.path.join(root, name)
    graph = {}
    for module, path in paths.items():
        edges = set()
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    edges.add(child if child in paths else node.module)
        graph[module] = {e for e in edges if e in paths and e not in (module, "cin_style")}
    return graph


def _cycles(graph):
    state, stack, found = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == "open":
                found.append(stack[stack.index(child):] + [child])
            elif child not in state:
                visit(child)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycle_anywhere_in_the_package():
    graph = _import_graph()
    assert len(graph) > 30 and "cin_style.stylization.tflite_backend" in graph
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_the_litert_path_starts_no_tensorflow(tiny_model, tmp_path):
    from cin_style.export.tflite import export_tflite

    path = tmp_path / "tiny.tflite"
    export_tflite(tiny_model, path, "float32")
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from cin_style.stylization.tflite_backend import TFLiteStylizer
        stylizer = TFLiteStylizer({str(path)!r}, num_threads=1)
        out = stylizer.stylize(np.random.default_rng(0).random((40, 52, 3)).astype(np.float32),
                               {{stylizer.style_names[0]: 0.5, stylizer.style_names[1]: 0.5}}, strength=0.8,
                               preserve_color=True, style_scale=2)
        assert out.size == (52, 40), out.size
        heavy = sorted(m for m in ("tensorflow", "tf_keras", "keras") if m in sys.modules)
        print("heavy:", heavy)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "heavy: []" in result.stdout


def test_old_module_paths_import_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="cin_style.stylizer moved to cin_style.stylization.tf_backend"):
        from cin_style.stylizer import Stylizer  # noqa: F401
    from cin_style.stylization.tf_backend import Stylizer as new

    assert Stylizer is new
    with pytest.warns(DeprecationWarning, match="cin_style.export.export_tflite moved"):
        from cin_style.export import export_tflite  # noqa: F401


def _unannotated_public_functions() -> list[str]:
    """``module:line name`` of every public function or method with a parameter or return left unannotated."""
    found = []

    def visit(node, path, public):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, path, public and not child.name.startswith("_"))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and public and (
                    not child.name.startswith("_") or child.name in ("__init__", "__call__")):
                arguments = child.args.posonlyargs + child.args.args + child.args.kwonlyargs
                bare = [a.arg for a in arguments if a.annotation is None and a.arg not in ("self", "cls")]
                if bare or (child.returns is None and child.name != "__init__"):
                    found.append(f"{os.path.relpath(path, PACKAGE_DIR)}:{child.lineno} {child.name}")

    for root, _, files in os.walk(PACKAGE_DIR):
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(root, name), encoding="utf-8") as handle:
                    visit(ast.parse(handle.read()), os.path.join(root, name), True)
    return found


def test_the_public_api_is_annotated():
    # the package ships py.typed: a user's type checker reads these signatures
    assert _unannotated_public_functions() == []
