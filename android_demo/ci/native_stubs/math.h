/* The one declaration the pixel code takes from <math.h>, for the NDK stand-in build (check_native.sh):
 * clang builds for Android targets here without the NDK's sysroot. C99 7.12.9.5. */
#ifndef CIN_STYLE_STUB_MATH_H
#define CIN_STYLE_STUB_MATH_H
long lrintf(float x);
#endif
