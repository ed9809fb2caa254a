/* hone.c: the desktop app's entry point: sets up translations (from the
 * build tree when run from there) and runs HoneApplication.
 *
 * This file does nothing else: see ui/hone-application.c. */
#include "hone-config.h"

#include "hone-application.h"

int
main (int argc, char *argv[])
{
  hone_application_setup_uninstalled (argv[0]);

  g_autoptr (HoneApplication) app = hone_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
