// flexilims web pages: open and close levels of the tree (disclosure
// buttons; htmx loads a level the first time it opens).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.toggle");
  if (!button) return;
  var target = document.getElementById(button.getAttribute("aria-controls"));
  var open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", open ? "true" : "false");
  if (target) target.hidden = !open;
});
