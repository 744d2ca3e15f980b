/*
 * The dashboard's page, style and script (src/controller/dashboard/),
 * carried in the binary: generated at build time by scripts/embed-files
 * from those files, which stay their one source. Static, never freed.
 */
#ifndef GPUSLICE_CONTROLLER_DASHBOARD_ASSETS_H
#define GPUSLICE_CONTROLLER_DASHBOARD_ASSETS_H

#include "util/fileset.h"

/* index.html, dashboard.css and dashboard.js, named by their paths in the
 * repository. */
const struct fileset *dashboard_assets(void);

#endif
