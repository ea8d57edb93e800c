// "Back to the form" (the 400 page of a refused form): the browser's Back, which shows the form again
// with what was typed in it; the link's own address (the page the form was sent from, when known)
// would open it empty. A script file, not an inline handler: the Content-Security-Policy allows no
// inline script. A button with no address stays hidden where there is no page to go back to.
for (const control of document.querySelectorAll("[data-history-back]")) {
  if (window.history.length < 2) continue;
  control.hidden = false;
  control.addEventListener("click", (event) => {
    event.preventDefault();
    window.history.back();
  });
}
