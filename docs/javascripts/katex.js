// Formulas are typeset in the reader's browser by KaTeX 0.19.1, bundled in docs/vendor/katex/
// (katex.min.js, katex.min.css, contrib/auto-render.min.js, the woff2 fonts and KaTeX's MIT
// licence, from the npm package `katex`), so the site shows them without a network.
// pymdownx.arithmatex (generic mode) wraps each formula in an element of class "arithmatex"
// with \( \) or \[ \] delimiters; only those elements are typeset, as prose may hold a "$".
// The course's notebooks (mkdocs-jupyter) keep Jupyter's $ and $$ delimiters in their Markdown cells.
const typeset = (body, selector, delimiters) => {
  for (const element of body.querySelectorAll(selector)) {
    renderMathInElement(element, { delimiters, throwOnError: false })
  }
}
document$.subscribe(({ body }) => {
  typeset(body, ".arithmatex", [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true }
  ])
  typeset(body, ".jp-MarkdownCell .jp-RenderedMarkdown", [
    { left: "$$", right: "$$", display: true },
    { left: "$", right: "$", display: false }
  ])
})
