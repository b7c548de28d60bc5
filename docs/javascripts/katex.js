// Formulas are typeset in the reader's browser by KaTeX 0.19.1, bundled in docs/vendor/katex/
// (katex.min.js, katex.min.css, contrib/auto-render.min.js, the woff2 fonts and KaTeX's MIT
// licence, from the npm package `katex`), so the site shows them without a network.
// pymdownx.arithmatex (generic mode) wraps each formula in an element of class "arithmatex"
// with \( \) or \[ \] delimiters; only those elements are typeset, as prose may hold a "$".
document$.subscribe(({ body }) => {
  for (const element of body.querySelectorAll(".arithmatex")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true }
      ],
      throwOnError: false
    })
  }
})
