"""Command line: `python -m course_utils <orden> ...` (messages in Spanish).

    run     ejecuta los cuadernos con papermill y escribe el informe
    badges  regenera insignias Colab/Binder, la línea de instalación y la tabla del README
    data    lista o descarga los conjuntos de datos
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_run(args: argparse.Namespace) -> int:
    from course_utils.run import run_course

    try:
        report = run_course(
            quick=args.quick, device=args.device, only=args.only, seed=args.seed, timeout=args.timeout,
            build=Path(args.build) if args.build else None,
            notebooks_dir=Path(args.notebooks) if args.notebooks else None,
        )
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 2
    from course_utils.run import REPO_ROOT

    build = Path(args.build) if args.build else REPO_ROOT / "build"
    print((build / "report.md").read_text(encoding="utf-8"))
    print(f"{'✅' if report['ok'] else '❌'} {report['summary']}. Informe: {build / 'report.md'}")
    return 0 if report["ok"] else 1


def _cmd_badges(args: argparse.Namespace) -> int:
    from course_utils.badges import load_config, sync

    changed = sync(write=not args.check)
    cfg = load_config()
    if args.check:
        if changed:
            print("❌ Insignias desactualizadas en: " + ", ".join(changed))
            print("   Ejecuta: python -m course_utils badges")
            return 1
        print(f"✅ Insignias al día para {cfg.repository}@{cfg.branch}.")
        return 0
    print(f"✅ Actualizados {len(changed)} archivos para {cfg.repository}@{cfg.branch}: " + (", ".join(changed) or "—"))
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from course_utils import data

    if args.action == "list":
        print(data.describe())
        return 0
    names = args.names or list(data.DATASETS)
    failed = 0
    for name in names:
        try:
            paths = data.fetch_dataset(name)
            print(f"✅ {name}: {len(paths)} archivos verificados en {paths[0].parent}")
        except (RuntimeError, ValueError) as exc:
            print(f"❌ {name}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description="Herramientas del curso de Deep Learning.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="orden")

    run = sub.add_parser("run", help="ejecuta los cuadernos del curso y escribe build/report.md y build/report.json")
    run.add_argument("--quick", action="store_true", help="modo rápido (QUICK=True): menos datos y épocas")
    run.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="dispositivo (por defecto: auto)")
    run.add_argument("--only", metavar="PATRÓN", help="solo cuadernos cuya ruta coincide (p. ej. '01_intro/*' o 'neurona')")
    run.add_argument("--seed", type=int, default=0, help="semilla (SEED) de todos los cuadernos")
    run.add_argument("--timeout", type=int, help="segundos máximos por celda (por defecto 300 en rápido, 1800 en completo)")
    run.add_argument("--build", metavar="CARPETA", help="carpeta de salida (por defecto build/)")
    run.add_argument("--notebooks", metavar="CARPETA", help="carpeta de cuadernos (por defecto notebooks/)")
    run.set_defaults(func=_cmd_run)

    badges = sub.add_parser("badges", help="regenera insignias Colab/Binder y la tabla del README")
    badges.add_argument("--check", action="store_true", help="solo comprueba; sale con 1 si algo está desactualizado")
    badges.set_defaults(func=_cmd_badges)

    data = sub.add_parser("data", help="lista o descarga los conjuntos de datos")
    data.add_argument("action", choices=["list", "fetch"], help="list: qué hay; fetch: descarga y verifica")
    data.add_argument("names", nargs="*", metavar="NOMBRE", help="conjuntos a descargar (por defecto todos)")
    data.set_defaults(func=_cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
