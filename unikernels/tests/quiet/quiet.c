/* Says nothing and exits 0: the tender must add nothing to the output. */
#include "solo5.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    return SOLO5_EXIT_SUCCESS;
}
