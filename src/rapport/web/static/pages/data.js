// The upload's progress bar: HTMX reports the bytes sent of its multipart request.
document.addEventListener("htmx:xhr:progress", (event) => {
  const bar = document.getElementById("upload-progress");
  const { loaded, total } = event.detail || {};
  if (bar && total) {
    bar.value = Math.round((loaded / total) * 100);
  }
});
