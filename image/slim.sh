#!/usr/bin/env bash
# Removes from the appliance's venv (/opt/kiosk) what the kiosk never loads, so that the root file
# system stays under its 1.5 GB budget. Called by image/build-rootfs.sh on the new root:
#
#   image/slim.sh ROOT LANG...       (LANG: the interface's languages, e.g. fr en ar pt)
#
# The Debian side is trimmed by image/dpkg-excludes.cfg (documentation, manuals, other
# languages' messages), which dpkg keeps applying to any package installed later.
#
# What goes, and why it is safe (`pytest -m image` checks the result: no library of the venv misses
# another one (ldd), the kiosk's PySide6 modules import, the on-screen keyboard, the PDF viewer
# and a web page load offscreen, phone numbers are read):
#   - Qt modules no part of the kiosk uses (3D, charts, designer, sensors, ...): their libraries,
#     Python bindings, QML modules and plugins; the X11 (xcb) and EGLFS platforms: the appliance
#     has no X server, and the shell runs under cage as a Wayland client. The kiosk uses Core, Gui, Widgets, WebEngine (which
#     needs Quick, Qml, WebChannel, Positioning, PrintSupport), Pdf, QuickWidgets,
#     VirtualKeyboard (which needs Multimedia and Svg), TextToSpeech and the Wayland client.
#   - Qt's developer tools (designer, linguist, qmlls, ...), headers, type systems, metatypes.
#   - Qt's and Chromium's translations other than the interface's languages.
#   - The venv's pip: the image is replaced whole on update, never patched in place.
#   - phonenumbers' geocoder, carrier and time-zone data (the kiosk only parses and formats).
#   - Test suites shipped inside packages.
# Kept on purpose: the compiled bytecode (__pycache__, 48 MB), written by pip at install time; on
# the read-only root nothing could write it later, and without it every start compiles anew.
# The FFmpeg libraries of the wheel are three copies each (wheels cannot hold symbolic links):
# the copies become links to one file.
set -euo pipefail
shopt -s nullglob extglob

ROOT=$1
shift
LANGS=("$@")
[ ${#LANGS[@]} -gt 0 ] || { echo "slim.sh: no language given" >&2; exit 2; }
SITE=$(echo "$ROOT"/opt/kiosk/lib/python3*/site-packages)
[ -d "$SITE/PySide6/Qt" ] || { echo "slim.sh: no PySide6 in $SITE" >&2; exit 2; }
PS=$SITE/PySide6
QT=$PS/Qt

# Qt modules the kiosk does not use (names without the "Qt"/"libQt6" prefix).
UNUSED=(3DAnimation 3DCore 3DExtras 3DInput 3DLogic 3DRender 3DQuick 3DQuickAnimation 3DQuickExtras
  3DQuickInput 3DQuickLogic 3DQuickRender 3DQuickScene2D 3DQuickScene3D
  Bluetooth CanvasPainter Charts ChartsQml DataVisualization DataVisualizationQml Designer
  DesignerComponents Graphs Graphs2DImpl GraphsWidgets Help HttpServer LabsStyleKit LabsStyleKitImpl
  LabsWavefrontMesh Location Lottie LottieVectorImageGenerator LottieVectorImageHelpers
  MultimediaWidgets NetworkAuth Nfc QmlCompiler QmlDesignSupport
  Quick3D Quick3DAssetImport Quick3DAssetUtils Quick3DEffects Quick3DGlslParser Quick3DHelpers
  Quick3DHelpersImpl Quick3DIblBaker Quick3DParticleEffects Quick3DParticles Quick3DPhysics
  Quick3DPhysicsHelpers Quick3DRuntimeRender Quick3DSpatialAudio Quick3DUtils Quick3DXr
  QuickControls2FluentWinUI3 QuickControls2FluentWinUI3StyleImpl QuickControls2Imagine
  QuickControls2ImagineStyleImpl QuickControls2Material QuickControls2MaterialStyleImpl
  QuickControls2Universal QuickControls2UniversalStyleImpl QuickTest
  RemoteObjects RemoteObjectsQml Scxml ScxmlQml Sensors SensorsQuick SerialBus SerialPort
  SpatialAudio StateMachine StateMachineQml Test UiTools WaylandCompositor
  WaylandEglCompositorHwIntegration WebView WebViewQuick
  XcbQpa EglFSDeviceIntegration EglFsKmsSupport)
for m in "${UNUSED[@]}"; do
  rm -f "$QT/lib/libQt6$m.so"* "$PS/Qt$m.abi3.so" "$PS/Qt$m.pyi"
done
# Their QML modules and plugins (each would miss the libraries above).
rm -rf "$QT"/qml/{Qt3D,QtCharts,QtDataVisualization,QtGraphs,QtLocation,QtQuick3D,QtRemoteObjects} \
  "$QT"/qml/{QtScxml,QtSensors,QtTest,QtWebView,QtWayland/Compositor} \
  "$QT"/qml/QtQuick/{Scene2D,Scene3D} "$QT"/qml/QtQuick/Controls/{FluentWinUI3,Imagine,Material,Universal} \
  "$QT"/qml/Qt/labs/{StyleKit,wavefrontmesh} "$QT"/qml/QtQml/{DesignSupport,StateMachine} \
  "$QT"/plugins/{assetimporters,canbus,designer,geometryloaders,geoservices,qmltooling,renderers} \
  "$QT"/plugins/{renderplugins,sceneparsers,scxmldatamodel,sensors,sqldrivers,webview} \
  "$QT"/plugins/wayland-graphics-integration-server "$QT"/plugins/vectorimageformats/*lottie* \
  "$QT"/plugins/position/libqtposition_nmea.so \
  "$QT"/plugins/{xcbglintegrations,egldeviceintegrations} "$QT"/plugins/platforms/lib{qxcb,qeglfs}.so \
  "$QT"/plugins/platformthemes/libqgtk3.so
# Developer tools, headers and build-time data.
rm -rf "$QT"/metatypes "$QT"/libexec/!(QtWebEngineProcess) "$PS"/{include,typesystems,glue,doc} \
  "$PS"/{assistant,balsam,balsamui,designer,linguist,lrelease,lupdate,qmlformat,qmllint,qmlls,qsb,svgtoqml}
rm -f "$ROOT"/opt/kiosk/bin/pyside6-*
# Translations: only the interface's languages (Chromium names English en-US and en-GB, and
# Portuguese pt-PT and pt-BR).
keep_qm=$(IFS='|'; echo "${LANGS[*]}")
rm -f "$QT"/translations/@(assistant|designer|linguist)_*.qm "$QT"/translations/!(*_@($keep_qm)?(_*)).qm
rm -f "$QT"/translations/qtwebengine_locales/!(@($keep_qm)?(-*)).pak
# pip, with its entry points (the venv stays usable: `python -m ensurepip` brings it back).
rm -rf "$SITE"/pip "$SITE"/pip-*.dist-info "$ROOT"/opt/kiosk/bin/pip "$ROOT"/opt/kiosk/bin/pip3*
# phonenumbers: only parsing and formatting are used, never the geocoder, carriers or time zones.
rm -rf "$SITE"/phonenumbers/{geodata,carrierdata,tzdata}
# Test suites some packages ship (python-barcode even as a top-level "tests"); none imports them.
rm -rf "$SITE"/{icalendar/tests,recurring_ical_events/test,importlib_resources/tests,qrcode/tests,certifi/tests,tests}
# One copy of each FFmpeg library: libavcodec.so and libavcodec.so.63 become links to
# libavcodec.so.63.1.101.
for real in "$QT"/lib/lib@(avcodec|avformat|avutil|swresample|swscale).so.+([0-9]).+([0-9]).+([0-9]); do
  base=${real##*/}
  soname=${base%.*.*}
  for copy in "$QT/lib/${base%%.so*}.so" "$QT/lib/$soname"; do
    [ -f "$copy" ] && [ ! -L "$copy" ] && cmp -s "$copy" "$real" && ln -sf "$base" "$copy"
  done
done
find "$ROOT"/opt/kiosk -name __pycache__ -path '*/PySide6/scripts/*' -prune -exec rm -rf {} +
exit 0
