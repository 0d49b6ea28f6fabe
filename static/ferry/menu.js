// The menu button of narrow screens: shows and hides the navigation (Escape closes it and
// gives focus back to the button). Without this script the navigation is simply always shown:
// the class "js" that folds it is set here, before the page is drawn (hence no defer).
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector(".menu-button");
  const panel = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!panel) return;
  const show = (open) => {
    button.setAttribute("aria-expanded", String(open));
    panel.classList.toggle("open", open);
  };
  button.addEventListener("click", () => show(button.getAttribute("aria-expanded") !== "true"));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      show(false);
      button.focus();
    }
  });
});
