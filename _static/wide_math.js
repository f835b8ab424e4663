// Inline math wider than its paragraph (a long formula on a phone) cannot wrap in MathJax 3, so
// it gets the class "wide-inline-math": _static/reading.css turns it into a box that scrolls
// sideways with a shadow cue, instead of running off the screen. Only such formulas change;
// all other inline math keeps its baseline. Runs once MathJax has typeset the page, and again
// when the window is resized (a phone turned on its side). When done, the page's <html> element
// carries data-wide-math="checked", which tests/test_book_widths.py waits for.
(function () {
  function mark() {
    const inline = document.querySelectorAll('mjx-container:not([display="true"])');
    for (const math of inline) math.classList.remove("wide-inline-math");
    for (const math of inline) {
      let block = math.parentElement;
      while (block && getComputedStyle(block).display.startsWith("inline")) {
        block = block.parentElement;
      }
      if (block && math.getBoundingClientRect().width > block.clientWidth) {
        math.classList.add("wide-inline-math");
      }
    }
    document.documentElement.dataset.wideMath = "checked";
  }
  function whenTypeset() {
    if (!document.querySelector(".math")) {
      document.documentElement.dataset.wideMath = "checked";
    } else if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(mark);
    } else {
      setTimeout(whenTypeset, 50);
    }
  }
  let resized;
  window.addEventListener("resize", function () {
    clearTimeout(resized);
    resized = setTimeout(mark, 200);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenTypeset);
  } else {
    whenTypeset();
  }
})();
