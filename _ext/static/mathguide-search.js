// Search snippets are made from the pages' text, where math is still raw TeX ("\(\vb{x}\)"):
// show it as plain text instead. Loaded on every page; acts only where Sphinx's search is.
(function () {
  const plain = (text) =>
    text
      .replace(/\\\(|\\\)|\\\[|\\\]|\$\$/g, "")
      .replace(/\\(?:vb|mat|mathbf|boldsymbol|mathbb|mathrm|mathcal|operatorname\*?|text)\{([^{}]*)\}/g, "$1")
      .replace(/\\([a-zA-Z]+)/g, "$1")
      .replace(/[{}]/g, "");
  const patch = () => {
    if (typeof Search === "undefined" || Search.mathguidePatched) return;
    const original = Search.htmlToText;
    Search.htmlToText = (html, anchor) => plain(original(html, anchor));
    Search.mathguidePatched = true;
  };
  patch();
  document.addEventListener("DOMContentLoaded", patch);
})();
