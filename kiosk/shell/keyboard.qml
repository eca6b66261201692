import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

// The resident's on-screen keyboard. The shell reads `active` and `panelHeight`.
Item {
    id: root
    property bool active: panel.active
    property real panelHeight: panel.height
    property string locale: "fr_FR"

    InputPanel {
        id: panel
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        visible: active
    }

    onLocaleChanged: applyLocale()
    Component.onCompleted: applyLocale()
    function applyLocale() {
        VirtualKeyboardSettings.activeLocales = [root.locale]
        VirtualKeyboardSettings.locale = root.locale
    }
}
