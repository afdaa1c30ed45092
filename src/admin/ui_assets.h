// The Admin UI's files, embedded in the binary at build time (ui/build.sh -> ui/embed.mjs ->
// a generated ui_assets.cc in the build directory). Sorted by path.
#pragma once

namespace tollgate::admin {

struct UiAsset {
  const char* path;          // "/ui/index.html", "/ui/assets/index-abc.js"
  const char* content_type;
  const unsigned char* data;
  unsigned long size;
};

extern const UiAsset kUiAssets[];
extern const unsigned long kUiAssetCount;

}  // namespace tollgate::admin
