// The upload's progress bar: HTMX reports the bytes sent of its multipart request. The bar
// stays outside the step it replaces, so that it still says 100 % beside the preview.
document.addEventListener("htmx:xhr:progress", (event) => {
  const bar = document.getElementById("upload-progress");
  const { loaded, total } = event.detail || {};
  if (bar && total) {
    bar.parentElement.hidden = false;
    bar.value = Math.round((loaded / total) * 100);
  }
});
