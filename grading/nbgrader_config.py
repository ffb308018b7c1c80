"""nbgrader configuration of the course (the course directory is this folder).

Used by `python -m course_utils grade ...`, which runs nbgrader with this folder
as its working directory. Generated folders (release/, submitted/, autograded/,
feedback/) and gradebook.db are git-ignored.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, Execute, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

from course_utils.grading import COURSE_ID
from course_utils.grading.feedback import TEMPLATES, StudentFeedback
from course_utils.grading.verdict import GuardVerdict

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.root = HERE
# SQLite by default. For several graders sharing one gradebook, point this at
# PostgreSQL instead, e.g. "postgresql://usuario:clave@servidor/gradebook"
# (or set the environment variable NBGRADER_DB_URL, read below).
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{os.path.join(HERE, 'gradebook.db')}")

# Spanish stubs left in the student version where the solution was.
c.ClearSolutions.code_stub = {"python": "# TU CÓDIGO AQUÍ\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ESCRIBE AQUÍ TU RESPUESTA"

# Execution: deep-learning cells need more than nbgrader's default 30 s.
c.Execute.timeout = 120
c.Execute.kernel_name = "python3"
c.ExecutePreprocessor.kernel_name = "python3"

# Tampering with what the tests rely on gains nothing: the guarded kernel reports after every cell
# what changed, and GuardVerdict (grader side) zeroes the test cells it affected and marks the
# submission (see course_utils/grading/guard.py). `grade autograde` sets GuardVerdict.required.
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, GuardVerdict, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

# A deleted graded cell is put back from the gradebook (and run) instead of being lost silently.
c.OverwriteCells.add_missing_cells = True

# Feedback for students: Spanish page with a per-exercise summary; hidden-test cells show only
# "superadas" or the failed check's message (never their code or traceback); no grader paths.
c.GenerateFeedback.preprocessors = [GetGrades, StudentFeedback, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
c.ClearHiddenTests.enforce_metadata = False
c.HTMLExporter.template_name = "feedback_es"
c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]

# Keep feedback readable and the gradebook small.
c.LimitOutput.max_lines = 300
c.LimitOutput.max_traceback = 60
