document.getElementById("app").textContent = "test build"
