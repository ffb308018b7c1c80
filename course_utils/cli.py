"""Command line: `python -m course_utils <orden> ...` (messages in Spanish).

    run     ejecuta los cuadernos con papermill y escribe el informe
    badges  regenera insignias Colab/Binder, la línea de instalación y la tabla del README
    data    lista o descarga los conjuntos de datos
    grade   calificación automática con nbgrader (release, collect, autograde, feedback, export)
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
            notebooks_dir=Path(args.notebooks) if args.notebooks else None, jobs=args.jobs,
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


def _cmd_grade(args: argparse.Namespace) -> int:
    from course_utils.grading import export, grade

    cdir = Path(args.course_dir).resolve() if args.course_dir else grade.course_dir()
    try:
        if args.action == "release":
            for path in grade.release(args.assignment, cdir):
                print(f"✅ Versión del alumnado: {path}")
        elif args.action == "collect":
            students = grade.collect(args.assignment, Path(args.path), cdir)
            print(f"✅ {len(students)} entregas recogidas en {cdir / 'submitted'}: {', '.join(students)}")
        elif args.action == "autograde":
            results = grade.autograde(args.assignment, cdir, sandbox=not args.no_sandbox, timeout=args.timeout,
                                      jobs=args.jobs)
            print(grade.summary_table(results))
            bad = [r for r in results if r.status != grade.GRADED]
            tampered = [r for r in results if r.tampering]
            print(f"{'⚠️' if bad or tampered else '✅'} {len(results) - len(bad)} calificadas, {len(bad)} sin calificar, "
                  f"{len(tampered)} con manipulación de las pruebas (revísalas a mano). "
                  f"Siguiente paso: python -m course_utils grade export {args.assignment}")
        elif args.action == "feedback":
            print(f"✅ Retroalimentación HTML en {grade.feedback(args.assignment, cdir)}")
        elif args.action == "export":
            if not args.no_feedback:
                print(f"✅ Retroalimentación HTML en {grade.feedback(args.assignment, cdir)}")
            written = export.export(args.assignment, cdir, Path(args.output) if args.output else None,
                                    moodle=args.moodle and Path(args.moodle), canvas=args.canvas and Path(args.canvas),
                                    canvas_column=args.columna)
            labels = {"notas": "Notas", "moodle": "Hoja para subir a Moodle", "canvas": "CSV para importar en Canvas",
                      "moodle_zip": "Retroalimentación para Moodle (zip de archivos de comentarios)"}
            for key, path in written.items():
                print(f"✅ {labels[key]}: {path}")
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return 2
    return 0


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
    run.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="cuadernos a la vez, cada uno con un hilo de CPU (por defecto 1: los tiempos de cada "
                          "cuaderno son entonces los suyos)")
    run.set_defaults(func=_cmd_run)

    badges = sub.add_parser("badges", help="regenera insignias Colab/Binder y la tabla del README")
    badges.add_argument("--check", action="store_true", help="solo comprueba; sale con 1 si algo está desactualizado")
    badges.set_defaults(func=_cmd_badges)

    data = sub.add_parser("data", help="lista o descarga los conjuntos de datos")
    data.add_argument("action", choices=["list", "fetch"], help="list: qué hay; fetch: descarga y verifica")
    data.add_argument("names", nargs="*", metavar="NOMBRE", help="conjuntos a descargar (por defecto todos)")
    data.set_defaults(func=_cmd_data)
    grade = sub.add_parser("grade", help="calificación automática con nbgrader (para docentes)")
    grade.add_argument("--course-dir", metavar="CARPETA", help="carpeta del curso nbgrader (por defecto grading/)")
    gsub = grade.add_subparsers(dest="action", required=True, metavar="acción")
    rel = gsub.add_parser("release", help="genera las versiones del alumnado en notebooks/")
    rel.add_argument("assignment", nargs="?", metavar="TAREA")
    col = gsub.add_parser("collect", help="importa entregas: zip o carpeta del aula virtual (Moodle, Canvas) "
                                          "o carpeta <alumno>/<cuaderno>.ipynb")
    col.add_argument("assignment", metavar="TAREA")
    col.add_argument("path", metavar="RUTA")
    auto = gsub.add_parser("autograde", help="repara y califica cada entrega en un entorno aislado")
    auto.add_argument("assignment", metavar="TAREA")
    auto.add_argument("--no-sandbox", action="store_true", help="sin aislamiento (¡peligroso! lee el README)")
    auto.add_argument("--timeout", type=int, help="segundos máximos por celda (por defecto, los de nbgrader_config.py)")
    auto.add_argument("--jobs", type=int, metavar="N",
                      help="entregas calificadas a la vez (por defecto, una por núcleo de la CPU)")
    fb = gsub.add_parser("feedback", help="genera la retroalimentación HTML de cada alumno")
    fb.add_argument("assignment", metavar="TAREA")
    exp = gsub.add_parser("export", help="retroalimentación, CSV de notas y archivos para subir al aula virtual")
    exp.add_argument("assignment", metavar="TAREA")
    exp.add_argument("--output", metavar="CSV", help="archivo de salida (por defecto grading/notas_TAREA.csv)")
    exp.add_argument("--no-feedback", action="store_true", help="no generar la retroalimentación HTML")
    exp.add_argument("--moodle", metavar="HOJA.csv",
                     help="hoja de calificación descargada de la tarea de Moodle: escribe grading/moodle_TAREA.csv "
                          "con notas y comentarios, y el zip de retroalimentación")
    exp.add_argument("--canvas", metavar="LIBRO.csv",
                     help="libro de calificaciones exportado de Canvas: escribe grading/canvas_TAREA.csv")
    exp.add_argument("--columna", metavar="NOMBRE", help="columna de la tarea en el CSV de Canvas, si no se deduce")
    grade.set_defaults(func=_cmd_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
