"""Sphinx configuration of the course's website (both editions): `make site` (tools/site.py).

tools/site.py stages each edition's notebooks (course/ and release/, or the Chinese
edition built by tools/translate.py) into build/site-src/<edition>/ and runs Sphinx on
it with this folder as the configuration directory; COURSE_SITE_EDITION says which
edition ("en" or "zh-CN").  Notebooks are never executed: the pages show the outputs
stored in the notebooks (nb_execution_mode = "off"), and nothing is fetched from the
network, at build time or when a page is read (no CDN scripts: widgets are replaced by
their stored static output in staging).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tools.site, for the anchors

EDITION = os.environ.get("COURSE_SITE_EDITION", "en")
ZH = EDITION == "zh-CN"

project = "动手学 Python 并发" if ZH else "Python concurrency, hands-on"
author = ""
copyright = ""
language = "zh_CN" if ZH else "en"
root_doc = "Index"

extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_render_markdown_format = "myst"      # tables in text/markdown outputs (the glossary)
nb_ipywidgets_js = {}                    # no require.js / widget manager from a CDN
myst_heading_anchors = 6
myst_heading_slug_func = "tools.site.jupyterlab_anchor"   # the anchors JupyterLab gives headings
suppress_warnings = ["myst.header"]      # notebooks may skip a heading level
exclude_patterns = ["**.ipynb_checkpoints", "_jieba_dict.txt"]

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
templates_path = ["_templates"]
html_copy_source = False
html_show_sourcelink = False
html_show_sphinx = False
html_use_index = False                   # no general index page (the notebooks make no index entries)
html_domain_indices = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "article_header_end": ["lang-switch.html", "article-header-buttons.html"],
    "use_download_button": False,
    "use_fullscreen_button": False,
    "launch_buttons": {},
    "toc_title": "本页内容" if ZH else "On this page",
}
html_context = {
    "other_edition": "en" if ZH else "zh-CN",
    "other_lang": "en" if ZH else "zh-CN",
    "other_label": "English" if ZH else "中文",
    "other_title": "Read this page in English" if ZH else "本页的中文版",
}
if ZH:
    html_search_language = "zh"
    # jieba cuts Chinese text into words for the search index; the glossary's terms
    # (staged by tools/site.py) are added to its dictionary so that each is one word.
    html_search_options = {"dict": os.path.join(os.environ.get("COURSE_SITE_SOURCE", "."), "_jieba_dict.txt")}
