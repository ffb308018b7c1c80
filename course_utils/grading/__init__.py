"""The instructor's grading pipeline (nbgrader), one job per module.

- `grade`: the commands — release, collect, autograde (parallel, sandboxed), feedback, export.
- `sandbox`: the bubblewrap kernel that runs student code while grading.
- `gradebook`: nbgrader's database, created whole on the first run, and its scores.
- `guard` (kernel side) and `verdict` (grader side): tampering with the tests gains nothing and is flagged.
- `sanitize`: repairs submissions (Colab metadata, broken JSON, duplicated cells) before grading.
- `lms`: Moodle and Canvas — who a submission belongs to, and the files that take grades back.
- `feedback`: what a student receives — Spanish feedback without the hidden tests or grader paths.
"""

COURSE_ID = "curso-dl-es"  # nbgrader course id (grading/nbgrader_config.py uses it too)
