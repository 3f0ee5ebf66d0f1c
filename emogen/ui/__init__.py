"""The Streamlit creation UI (`emogen ui`): one page per modality, batch gallery and scoring uploads.

Page logic lives in importable modules (``emogen.ui.pages``) so that an installed emogen can serve the
app; ``ui/app.py`` in a source checkout is the same app for ``streamlit run ui/app.py``.
"""
