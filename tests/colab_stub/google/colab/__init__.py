"""Stand-in for Colab's `google.colab` module (tests/colab_check.py imports it at kernel start, as Colab does).

The course only asks whether it is imported (`"google.colab" in sys.modules`); `output` covers
the call some notebooks make to turn on third-party widgets.
"""


class output:  # noqa: N801 - the name Colab uses
    @staticmethod
    def enable_custom_widget_manager() -> None:
        """Colab needs it for third-party widgets; here there is nothing to enable."""
