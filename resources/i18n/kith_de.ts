<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de" sourcelanguage="en">
<context>
    <name>AddByAddressDialog</name>
    <message>
        <source>Connect by address</source>
        <translation>Über Adresse verbinden</translation>
    </message>
    <message>
        <source>Type the address that the other device shows under &lt;b&gt;This computer&lt;/b&gt; (in its Connect by address window, or its Settings).</source>
        <translation>Gib die Adresse ein, die das andere Gerät unter &lt;b&gt;Dieser Computer&lt;/b&gt; anzeigt (in seinem Fenster „Über Adresse verbinden“ oder in seinen Einstellungen).</translation>
    </message>
    <message>
        <source>like {address}</source>
        <translation>z. B. {address}</translation>
    </message>
    <message>
        <source>&lt;b&gt;This computer&lt;/b&gt;: give the other person one of these</source>
        <translation>&lt;b&gt;Dieser Computer&lt;/b&gt;: Gib der anderen Person eine dieser Adressen</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>Verbinden</translation>
    </message>
</context>
<context>
    <name>AddPeopleDialog</name>
    <message>
        <source>Add people</source>
        <translation>Personen hinzufügen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>Hinzufügen</translation>
    </message>
</context>
<context>
    <name>AddressBox</name>
    <message>
        <source>not listening</source>
        <translation>nicht empfangsbereit</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
</context>
<context>
    <name>Attachments</name>
    <message>
        <source>Attach files</source>
        <translation>Dateien anhängen</translation>
    </message>
    <message>
        <source>Transfers</source>
        <translation>Übertragungen</translation>
    </message>
    <message>
        <source>Preparing {name} to open…</source>
        <translation>{name} wird zum Öffnen vorbereitet&#xa0;…</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>Speichern unter&#xa0;…</translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation>Im Ordner anzeigen</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>Resume sending</source>
        <translation>Senden fortsetzen</translation>
    </message>
    <message>
        <source>Pause sending</source>
        <translation>Senden pausieren</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausieren</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>Herunterladen</translation>
    </message>
    <message>
        <source>Save as</source>
        <translation>Speichern unter</translation>
    </message>
    <message>
        <source>Cannot save {name}: {reason}</source>
        <translation>{name} kann nicht gespeichert werden: {reason}</translation>
    </message>
    <message>
        <source>Cannot open {name}: {reason}</source>
        <translation>{name} lässt sich nicht öffnen: {reason}</translation>
    </message>
</context>
<context>
    <name>AutoDownload</name>
    <message>
        <source>Download files by themselves up to</source>
        <translation>Dateien automatisch herunterladen bis</translation>
    </message>
    <message>
        <source>Files from your contacts and your own devices; files from anyone else always wait for a click</source>
        <translation>Dateien von deinen Kontakten und deinen eigenen Geräten; Dateien von allen anderen warten immer auf einen Klick</translation>
    </message>
    <message>
        <source> MB</source>
        <translation> MB</translation>
    </message>
    <message>
        <source>Largest file that downloads by itself</source>
        <translation>Größte Datei, die automatisch heruntergeladen wird</translation>
    </message>
</context>
<context>
    <name>Bridge</name>
    <message>
        <source>Something went wrong: {error}</source>
        <translation>Etwas ist schiefgelaufen: {error}</translation>
    </message>
    <message>
        <source>⚠ {name}, different key</source>
        <translation>⚠ {name}, anderer Schlüssel</translation>
    </message>
    <message>
        <source>another device</source>
        <translation>ein anderes Gerät</translation>
    </message>
</context>
<context>
    <name>BubbleDelegate</name>
    <message>
        <source>New messages</source>
        <translation>Neue Nachrichten</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Erneut versuchen</translation>
    </message>
</context>
<context>
    <name>Candidate</name>
    <message>
        <source>key {key}</source>
        <translation>Schlüssel {key}</translation>
    </message>
    <message>
        <source>⚠ not the {name} you know</source>
        <translation>⚠ nicht die Person {name}, die du kennst</translation>
    </message>
</context>
<context>
    <name>ChatHeader</name>
    <message>
        <source>Contact info</source>
        <translation>Kontaktinfo</translation>
    </message>
    <message>
        <source>Safety number, QR code and verification</source>
        <translation>Sicherheitsnummer, QR-Code und Verifizierung</translation>
    </message>
</context>
<context>
    <name>ChatPane</name>
    <message>
        <source>Compare safety numbers</source>
        <translation>Sicherheitsnummern vergleichen</translation>
    </message>
    <message>
        <source>Trust new key</source>
        <translation>Neuem Schlüssel vertrauen</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Annehmen</translation>
    </message>
    <message>
        <source>Decline</source>
        <translation>Ablehnen</translation>
    </message>
    <message>
        <source>Open the new conversation</source>
        <translation>Neuen Chat öffnen</translation>
    </message>
    <message>
        <source>Go back to this key…</source>
        <translation>Zu diesem Schlüssel zurückkehren&#xa0;…</translation>
    </message>
    <message>
        <source>online</source>
        <translation>online</translation>
    </message>
    <message>
        <source>online through your {device}</source>
        <translation>online über dein Gerät {device}</translation>
    </message>
    <message>
        <source>offline</source>
        <translation>offline</translation>
    </message>
    <message>
        <source>⚠ not the {name} you know</source>
        <translation>⚠ nicht die Person {name}, die du kennst</translation>
    </message>
    <message>
        <source>✔ verified</source>
        <translation>✔ verifiziert</translation>
    </message>
    <message>
        <source>not verified</source>
        <translation>nicht verifiziert</translation>
    </message>
    <message>
        <source>key {key}</source>
        <translation>Schlüssel {key}</translation>
    </message>
    <message>
        <source>calls themselves “{name}”</source>
        <translation>nennt sich „{name}“</translation>
    </message>
    <message>
        <source>request sent</source>
        <translation>Anfrage gesendet</translation>
    </message>
    <message>
        <source>&lt;b&gt;⚠ This is not the {name} you know.&lt;/b&gt; Their identity key is different: it may be someone else, or they reinstalled Kith. Sending is paused until you compare safety numbers or choose to trust the new key.</source>
        <translation>&lt;b&gt;⚠ Das ist nicht die Person {name}, die du kennst.&lt;/b&gt; Ihr Identitätsschlüssel ist ein anderer: Vielleicht ist es jemand anderes, oder Kith wurde neu installiert. Das Senden ist angehalten, bis du die Sicherheitsnummern vergleichst oder dem neuen Schlüssel vertraust.</translation>
    </message>
    <message>
        <source>&lt;b&gt;{name}&lt;/b&gt; wants to chat with you.</source>
        <translation>&lt;b&gt;{name}&lt;/b&gt; möchte mit dir chatten.</translation>
    </message>
    <message>
        <source>&lt;b&gt;⚠ Both keys are active.&lt;/b&gt; You took a new key as {name}&apos;s, but this old key is online too and its messages arrive here. If this is the real {name}, the new key may be someone else: compare safety numbers.</source>
        <translation>&lt;b&gt;⚠ Beide Schlüssel sind aktiv.&lt;/b&gt; Du hast einen neuen Schlüssel als den von {name} angenommen, aber dieser alte Schlüssel ist auch online und seine Nachrichten kommen hier an. Ist dies die echte Person {name}, könnte hinter dem neuen Schlüssel jemand anderes stecken: Vergleicht eure Sicherheitsnummern.</translation>
    </message>
    <message>
        <source>&lt;b&gt;{name} uses a new key now.&lt;/b&gt; You confirmed it; this conversation with the old key stays for its history.</source>
        <translation>&lt;b&gt;{name} verwendet jetzt einen neuen Schlüssel.&lt;/b&gt; Du hast ihn bestätigt; dieser Chat mit dem alten Schlüssel bleibt für den Verlauf erhalten.</translation>
    </message>
    <message>
        <source>Message {name}</source>
        <translation>Nachricht an {name}</translation>
    </message>
    <message>
        <source>This computer was removed from your devices</source>
        <translation>Dieser Computer wurde aus deinen Geräten entfernt</translation>
    </message>
    <message>
        <source>Sending is paused: confirm the new key first</source>
        <translation>Senden angehalten: Bestätige zuerst den neuen Schlüssel</translation>
    </message>
    <message>
        <source>Write to {name} in the new conversation</source>
        <translation>Schreib {name} im neuen Chat</translation>
    </message>
    <message>
        <source>You can write once {name} accepts</source>
        <translation>Du kannst schreiben, sobald {name} annimmt</translation>
    </message>
    <message>
        <source>Accept the request to chat</source>
        <translation>Nimm die Anfrage an, um zu chatten</translation>
    </message>
    <message>
        <source>⚠ Not the {name} you know: a different key</source>
        <translation>⚠ Nicht die Person {name}, die du kennst: ein anderer Schlüssel</translation>
    </message>
    <message>
        <source>✔ Verified: you compared safety numbers</source>
        <translation>✔ Verifiziert: Ihr habt die Sicherheitsnummern verglichen</translation>
    </message>
    <message>
        <source>Not verified yet</source>
        <translation>Noch nicht verifiziert</translation>
    </message>
    <message>
        <source>Request sent. You can write once {name} accepts.</source>
        <translation>Anfrage gesendet. Du kannst schreiben, sobald {name} annimmt.</translation>
    </message>
    <message>
        <source>{name} wants to chat with you.</source>
        <translation>{name} möchte mit dir chatten.</translation>
    </message>
    <message>
        <source>No messages yet: say hello! Messages go straight to {name}&apos;s devices, end-to-end encrypted.</source>
        <translation>Noch keine Nachrichten: Sag hallo! Nachrichten gehen direkt und Ende-zu-Ende-verschlüsselt an die Geräte von {name}.</translation>
    </message>
    <message>
        <source>No messages yet: say hello! Messages go straight to {name}&apos;s devices, end-to-end encrypted. To be sure it is {name}, compare safety numbers (Contact info).</source>
        <translation>Noch keine Nachrichten: Sag hallo! Nachrichten gehen direkt und Ende-zu-Ende-verschlüsselt an die Geräte von {name}. Um sicherzugehen, dass es wirklich {name} ist, vergleicht eure Sicherheitsnummern (Kontaktinfo).</translation>
    </message>
</context>
<context>
    <name>ChatView</name>
    <message>
        <source>Messages</source>
        <translation>Nachrichten</translation>
    </message>
    <message>
        <source>Go to the newest message</source>
        <translation>Zur neuesten Nachricht</translation>
    </message>
    <message>
        <source>↓ {count} new</source>
        <translation>↓ {count} neu</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>Copy link</source>
        <translation>Link kopieren</translation>
    </message>
    <message>
        <source>Open link</source>
        <translation>Link öffnen</translation>
    </message>
    <message>
        <source>Select all</source>
        <translation>Alles auswählen</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <source>Message</source>
        <translation>Nachricht</translation>
    </message>
</context>
<context>
    <name>ComposerBar</name>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>ComposerField</name>
    <message>
        <source>Send (Enter)</source>
        <translation>Senden (Eingabetaste)</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
</context>
<context>
    <name>ComposerFiles</name>
    <message>
        <source>Attach files</source>
        <translation>Dateien anhängen</translation>
    </message>
</context>
<context>
    <name>ContactInfo</name>
    <message>
        <source>Introduced by {name} (a contact card; not verified by that)</source>
        <translation>Vorgestellt von {name} (eine Kontaktkarte; dadurch nicht verifiziert)</translation>
    </message>
</context>
<context>
    <name>ContactInfoDialog</name>
    <message>
        <source>{name}: contact info</source>
        <translation>{name}: Kontaktinfo</translation>
    </message>
    <message>
        <source>User id: {id}</source>
        <translation>Benutzer-ID: {id}</translation>
    </message>
    <message>
        <source>Compare this safety number with {name}&apos;s screen, in person or on a call you trust. If all 60 digits match, nobody is in between.</source>
        <translation>Vergleiche diese Sicherheitsnummer mit dem Bildschirm von {name}, persönlich oder in einem Anruf, dem du vertraust. Stimmen alle 60 Ziffern überein, sitzt niemand dazwischen.</translation>
    </message>
    <message>
        <source>The same safety number as a QR code</source>
        <translation>Dieselbe Sicherheitsnummer als QR-Code</translation>
    </message>
    <message>
        <source>The numbers match…</source>
        <translation>Die Nummern stimmen überein&#xa0;…</translation>
    </message>
    <message>
        <source>Verify with emoji</source>
        <translation>Mit Emoji verifizieren</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>⚠ This is not the person you know by this name: their identity key is different. Compare before trusting.</source>
        <translation>⚠ Das ist nicht die Person, die du unter diesem Namen kennst: Ihr Identitätsschlüssel ist ein anderer. Vergleiche, bevor du vertraust.</translation>
    </message>
    <message>
        <source>Not verified yet.</source>
        <translation>Noch nicht verifiziert.</translation>
    </message>
    <message>
        <source>Mark as unverified</source>
        <translation>Als nicht verifiziert markieren</translation>
    </message>
    <message>
        <source>Your {device} is the device connected to them now: compare emoji there, or bring this device onto their network</source>
        <translation>Gerade ist dein Gerät {device} mit dieser Person verbunden: Vergleiche die Emoji dort oder bring dieses Gerät in ihr Netzwerk</translation>
    </message>
    <message>
        <source>Needs a live connection to them: compare when they are online</source>
        <translation>Braucht eine direkte Verbindung: Vergleiche, wenn die Person online ist</translation>
    </message>
    <message>
        <source>Mark as verified</source>
        <translation>Als verifiziert markieren</translation>
    </message>
    <message>
        <source>Do all 60 digits on {name}&apos;s screen match the ones here, group by group?</source>
        <translation>Stimmen alle 60 Ziffern auf dem Bildschirm von {name} Gruppe für Gruppe mit denen hier überein?</translation>
    </message>
    <message>
        <source>They all match</source>
        <translation>Alle stimmen überein</translation>
    </message>
    <message>
        <source>Emoji do not match</source>
        <translation>Emoji stimmen nicht überein</translation>
    </message>
    <message>
        <source>The emoji differ: someone may be in between. Do not mark this contact verified, and talk to them in person.</source>
        <translation>Die Emoji unterscheiden sich: Vielleicht sitzt jemand dazwischen. Markiere diesen Kontakt nicht als verifiziert und sprich persönlich mit der Person.</translation>
    </message>
</context>
<context>
    <name>ContactPicker</name>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
</context>
<context>
    <name>ConversationMenu</name>
    <message>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <source>Contact info</source>
        <translation>Kontaktinfo</translation>
    </message>
    <message>
        <source>Unmute notifications</source>
        <translation>Stummschaltung aufheben</translation>
    </message>
    <message>
        <source>Mute notifications</source>
        <translation>Benachrichtigungen stummschalten</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>Umbenennen&#xa0;…</translation>
    </message>
    <message>
        <source>Mark as read</source>
        <translation>Als gelesen markieren</translation>
    </message>
    <message>
        <source>Mark as unread</source>
        <translation>Als ungelesen markieren</translation>
    </message>
    <message>
        <source>Delete chat…</source>
        <translation>Chat löschen&#xa0;…</translation>
    </message>
    <message>
        <source>Rename contact</source>
        <translation>Kontakt umbenennen</translation>
    </message>
    <message>
        <source>Your name for them (they call themselves “{name}”; leave empty to use theirs):</source>
        <translation>Dein Name für diese Person (sie nennt sich „{name}“; leer lassen, um ihren Namen zu verwenden):</translation>
    </message>
</context>
<context>
    <name>ConversationModel</name>
    <message numerus="yes">
        <source>, %n unread</source>
        <translation>
            <numerusform>, %n ungelesen</numerusform>
            <numerusform>, %n ungelesen</numerusform>
        </translation>
    </message>
    <message>
        <source>, key {key}</source>
        <translation>, Schlüssel {key}</translation>
    </message>
    <message>
        <source>, different key</source>
        <translation>, anderer Schlüssel</translation>
    </message>
    <message>
        <source>, verified</source>
        <translation>, verifiziert</translation>
    </message>
    <message>
        <source>Old key: they use a new one now</source>
        <translation>Alter Schlüssel: Jetzt wird ein neuer verwendet</translation>
    </message>
    <message>
        <source>Request sent. Waiting for them to accept…</source>
        <translation>Anfrage gesendet. Warten auf Annahme&#xa0;…</translation>
    </message>
    <message>
        <source>No messages yet. Say hello!</source>
        <translation>Noch keine Nachrichten. Sag hallo!</translation>
    </message>
    <message>
        <source>You unsent a message</source>
        <translation>Du hast eine Nachricht gelöscht</translation>
    </message>
    <message>
        <source>A message was unsent</source>
        <translation>Eine Nachricht wurde gelöscht</translation>
    </message>
    <message>
        <source>📎 File</source>
        <translation>📎 Datei</translation>
    </message>
    <message>
        <source>You: {text}</source>
        <translation>Du: {text}</translation>
    </message>
</context>
<context>
    <name>Decorations</name>
    <message>
        <source>You</source>
        <translation>Du</translation>
    </message>
    <message>
        <source>Someone</source>
        <translation>Jemand</translation>
    </message>
    <message>
        <source>You unsent a message</source>
        <translation>Du hast eine Nachricht gelöscht</translation>
    </message>
    <message>
        <source>{name} unsent a message</source>
        <translation>{name} hat eine Nachricht gelöscht</translation>
    </message>
    <message>
        <source>Edited</source>
        <translation>Bearbeitet</translation>
    </message>
    <message>
        <source>The original message is not available</source>
        <translation>Die ursprüngliche Nachricht ist nicht verfügbar</translation>
    </message>
    <message>
        <source>This message was unsent</source>
        <translation>Diese Nachricht wurde gelöscht</translation>
    </message>
    <message>
        <source>Contact: {name}</source>
        <translation>Kontakt: {name}</translation>
    </message>
    <message>
        <source>Contact card</source>
        <translation>Kontaktkarte</translation>
    </message>
    <message>
        <source>A contact called {name} has another key: this may be someone else</source>
        <translation>Ein Kontakt namens {name} hat einen anderen Schlüssel: Das könnte jemand anderes sein</translation>
    </message>
    <message>
        <source>Send contact request</source>
        <translation>Kontaktanfrage senden</translation>
    </message>
    <message>
        <source>a contact</source>
        <translation>ein Kontakt</translation>
    </message>
    <message>
        <source>request sent</source>
        <translation>Anfrage gesendet</translation>
    </message>
</context>
<context>
    <name>DeleteChatDialog</name>
    <message>
        <source>Delete chat</source>
        <translation>Chat löschen</translation>
    </message>
    <message>
        <source>this person</source>
        <translation>diese Person</translation>
    </message>
    <message>
        <source>Delete this chat with {name}?</source>
        <translation>Diesen Chat mit {name} löschen?</translation>
    </message>
    <message>
        <source>Delete the chat “{name}”?</source>
        <translation>Den Chat „{name}“ löschen?</translation>
    </message>
    <message>
        <source>Its messages and files are removed from all of your devices. The other members keep their copy: nothing is removed from their devices. A new message brings the chat back.</source>
        <translation>Seine Nachrichten und Dateien werden von all deinen Geräten entfernt. Die anderen Mitglieder behalten ihre Kopie: Von ihren Geräten wird nichts entfernt. Eine neue Nachricht bringt den Chat zurück.</translation>
    </message>
    <message>
        <source>Its messages and files are removed from all of your devices. {name} keeps their copy: nothing is removed from their devices. A new message brings the chat back.</source>
        <translation>Seine Nachrichten und Dateien werden von all deinen Geräten entfernt. {name} behält die eigene Kopie: Von den Geräten dieser Person wird nichts entfernt. Eine neue Nachricht bringt den Chat zurück.</translation>
    </message>
    <message>
        <source>You stay in the group unless you also leave it.</source>
        <translation>Du bleibst in der Gruppe, außer du verlässt sie auch.</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <source>Leave and delete</source>
        <translation>Verlassen und löschen</translation>
    </message>
</context>
<context>
    <name>DevicesDialog</name>
    <message>
        <source>My devices</source>
        <translation>Meine Geräte</translation>
    </message>
    <message>
        <source>Every device here is you: it has all your conversations and contacts. Remove one you lost or gave away.</source>
        <translation>Jedes Gerät hier bist du: Es hat alle deine Chats und Kontakte. Entferne eines, das du verloren oder weitergegeben hast.</translation>
    </message>
    <message>
        <source>Add a device…</source>
        <translation>Gerät hinzufügen&#xa0;…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Add a device</source>
        <translation>Gerät hinzufügen</translation>
    </message>
    <message>
        <source>On the new computer, start Kith and choose &lt;b&gt;Link to my other device&lt;/b&gt;. Type the code its screen shows:</source>
        <translation>Starte Kith auf dem neuen Computer und wähle &lt;b&gt;Mit meinem anderen Gerät verknüpfen&lt;/b&gt;. Gib den Code ein, den sein Bildschirm zeigt:</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>Code</translation>
    </message>
    <message>
        <source>the code on its screen, like 123-456-789</source>
        <translation>der Code auf seinem Bildschirm, z. B. 123-456-789</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <source>Link</source>
        <translation>Verknüpfen</translation>
    </message>
    <message>
        <source>Remove device</source>
        <translation>Gerät entfernen</translation>
    </message>
    <message>
        <source>Remove “{name}”? It stops receiving your messages and can no longer act as you. This cannot be undone.</source>
        <translation>„{name}“ entfernen? Es empfängt dann keine Nachrichten mehr und kann nicht mehr als du handeln. Das kann nicht rückgängig gemacht werden.</translation>
    </message>
    <message>
        <source>⚠ That is not a code: the new device shows nine digits, like 123-456-789.</source>
        <translation>⚠ Das ist kein Code: Das neue Gerät zeigt neun Ziffern, z. B. 123-456-789.</translation>
    </message>
    <message>
        <source>Looking for the new device on this network and linking it…</source>
        <translation>Das neue Gerät wird in diesem Netzwerk gesucht und verknüpft&#xa0;…</translation>
    </message>
    <message>
        <source>✔ Linked “{name}”. It is receiving your conversations now.</source>
        <translation>✔ „{name}“ verknüpft. Es empfängt jetzt deine Chats.</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
</context>
<context>
    <name>FilesLayout</name>
    <message>
        <source>Sending paused · {size}</source>
        <translation>Senden pausiert · {size}</translation>
    </message>
    <message>
        <source>Preparing to open · {size}</source>
        <translation>Wird zum Öffnen vorbereitet · {size}</translation>
    </message>
    <message>
        <source>Waiting for a device that has it · {have} of {size}</source>
        <translation>Warten auf ein Gerät, das sie hat · {have} von {size}</translation>
    </message>
    <message>
        <source>{percent}% of {size}</source>
        <translation>{percent} % von {size}</translation>
    </message>
    <message>
        <source>{progress} · {rate}/s · {seconds} s left</source>
        <translation>{progress} · {rate}/s · noch {seconds} s</translation>
    </message>
    <message>
        <source>Paused at {have} of {size}: {problem}</source>
        <translation>Angehalten bei {have} von {size}: {problem}</translation>
    </message>
    <message>
        <source>Paused at {have} of {size}</source>
        <translation>Angehalten bei {have} von {size}</translation>
    </message>
    <message>
        <source>Failed: {problem}</source>
        <translation>Fehlgeschlagen: {problem}</translation>
    </message>
    <message>
        <source>Download · {size}</source>
        <translation>Herunterladen · {size}</translation>
    </message>
</context>
<context>
    <name>FirstStartDialog</name>
    <message>
        <source>Welcome to Kith</source>
        <translation>Willkommen bei Kith</translation>
    </message>
    <message>
        <source>Kith lets you chat with people on the same network: no server, no account, no Internet. Messages are end-to-end encrypted.

What name should people nearby see?</source>
        <translation>Mit Kith chattest du mit Menschen im selben Netzwerk: kein Server, kein Konto, kein Internet. Nachrichten sind Ende-zu-Ende-verschlüsselt.

Welchen Namen sollen Menschen in der Nähe sehen?</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>Dein Name</translation>
    </message>
    <message>
        <source>Get started</source>
        <translation>Los geht’s</translation>
    </message>
    <message>
        <source>Already use Kith on another computer?</source>
        <translation>Du nutzt Kith schon auf einem anderen Computer?</translation>
    </message>
    <message>
        <source>Link to my other device…</source>
        <translation>Mit meinem anderen Gerät verknüpfen&#xa0;…</translation>
    </message>
    <message>
        <source>Use the same account here: your conversations and contacts come over from your other device</source>
        <translation>Dasselbe Konto hier nutzen: Deine Chats und Kontakte kommen von deinem anderen Gerät herüber</translation>
    </message>
</context>
<context>
    <name>GroupInfoDialog</name>
    <message>
        <source>Group info</source>
        <translation>Gruppeninfo</translation>
    </message>
</context>
<context>
    <name>GroupInfoPanel</name>
    <message>
        <source>Group name</source>
        <translation>Gruppenname</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation>Umbenennen</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>Mitglieder</translation>
    </message>
    <message>
        <source>Add people…</source>
        <translation>Personen hinzufügen&#xa0;…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <source>Make admin</source>
        <translation>Zum Admin machen</translation>
    </message>
    <message>
        <source>Send contact request</source>
        <translation>Kontaktanfrage senden</translation>
    </message>
    <message>
        <source>This member is not your contact yet</source>
        <translation>Dieses Mitglied ist noch nicht dein Kontakt</translation>
    </message>
    <message>
        <source>Mute notifications</source>
        <translation>Benachrichtigungen stummschalten</translation>
    </message>
    <message>
        <source>New members see the history</source>
        <translation>Neue Mitglieder sehen den Verlauf</translation>
    </message>
    <message>
        <source>Leave group</source>
        <translation>Gruppe verlassen</translation>
    </message>
    <message>
        <source>You are no longer in this group.</source>
        <translation>Du bist nicht mehr in dieser Gruppe.</translation>
    </message>
    <message>
        <source>Revoke admin</source>
        <translation>Admin entziehen</translation>
    </message>
</context>
<context>
    <name>HandoffCard</name>
    <message>
        <source>↪ {name} · open on {device}</source>
        <translation>↪ {name} · offen auf {device}</translation>
    </message>
    <message>
        <source>Draft: “{text}”</source>
        <translation>Entwurf: „{text}“</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Verwerfen</translation>
    </message>
    <message>
        <source>Continue here</source>
        <translation>Hier weiter</translation>
    </message>
    <message>
        <source>Continue the chat with {name} (from {device})</source>
        <translation>Chat mit {name} hier fortsetzen (von {device})</translation>
    </message>
    <message>
        <source>Open it here with the draft you started there</source>
        <translation>Hier öffnen, mit dem dort begonnenen Entwurf</translation>
    </message>
    <message>
        <source>Open it here</source>
        <translation>Hier öffnen</translation>
    </message>
</context>
<context>
    <name>HoverBar</name>
    <message>
        <source>React {emoji}</source>
        <translation>Mit {emoji} reagieren</translation>
    </message>
    <message>
        <source>More reactions</source>
        <translation>Weitere Reaktionen</translation>
    </message>
    <message>
        <source>Reply</source>
        <translation>Antworten</translation>
    </message>
    <message>
        <source>More</source>
        <translation>Mehr</translation>
    </message>
</context>
<context>
    <name>InterfacePicker</name>
    <message>
        <source>All networks this computer is on</source>
        <translation>Alle Netzwerke dieses Computers</translation>
    </message>
    <message>
        <source>Only these:</source>
        <translation>Nur diese:</translation>
    </message>
    <message>
        <source>Networks</source>
        <translation>Netzwerke</translation>
    </message>
    <message>
        <source>{name} (not connected now)</source>
        <translation>{name} (gerade nicht verbunden)</translation>
    </message>
    <message>
        <source>Changes take effect the next time Kith starts.</source>
        <translation>Änderungen gelten ab dem nächsten Start von Kith.</translation>
    </message>
    <message>
        <source>Tick at least one network, or choose all networks.</source>
        <translation>Wähle mindestens ein Netzwerk aus oder alle Netzwerke.</translation>
    </message>
</context>
<context>
    <name>LinkDialog</name>
    <message>
        <source>Link to my other device</source>
        <translation>Mit meinem anderen Gerät verknüpfen</translation>
    </message>
    <message>
        <source>On a computer where you already use Kith, open &lt;b&gt;Settings → My devices → Add a device&lt;/b&gt; and type this code:</source>
        <translation>Öffne auf einem Computer, auf dem du Kith schon nutzt, &lt;b&gt;Einstellungen → Meine Geräte → Gerät hinzufügen&lt;/b&gt; und gib diesen Code ein:</translation>
    </message>
    <message>
        <source>The same code as a QR code</source>
        <translation>Derselbe Code als QR-Code</translation>
    </message>
    <message>
        <source>This device will be listed as “{name}”.</source>
        <translation>Dieses Gerät erscheint als „{name}“.</translation>
    </message>
    <message>
        <source>Waiting for your other device…</source>
        <translation>Warten auf dein anderes Gerät&#xa0;…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>⚠ A wrong code was typed on your other device; nothing was sent. Check the code above and type it again (one more try).</source>
        <translation>⚠ Auf deinem anderen Gerät wurde ein falscher Code eingegeben; es wurde nichts gesendet. Prüfe den Code oben und gib ihn erneut ein (noch ein Versuch).</translation>
    </message>
    <message numerus="yes">
        <source>⚠ A wrong code was typed on your other device; nothing was sent. Check the code above and type it again (%n more tries).</source>
        <translation>
            <numerusform>⚠ Auf deinem anderen Gerät wurde ein falscher Code eingegeben; es wurde nichts gesendet. Prüfe den Code oben und gib ihn erneut ein (noch %n Versuch).</numerusform>
            <numerusform>⚠ Auf deinem anderen Gerät wurde ein falscher Code eingegeben; es wurde nichts gesendet. Prüfe den Code oben und gib ihn erneut ein (noch %n Versuche).</numerusform>
        </translation>
    </message>
    <message>
        <source>Continue in the background</source>
        <translation>Im Hintergrund fortsetzen</translation>
    </message>
    <message>
        <source>✔ Linked. Fetching your history: {have} of {total}…</source>
        <translation>✔ Verknüpft. Dein Verlauf wird geladen: {have} von {total}&#xa0;…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>&lt;b&gt;This computer was removed from {name}&apos;s devices&lt;/b&gt; by another of them. It no longer sends or receives messages; what it already has stays readable here. To use Kith on this computer again, link it anew from one of your other devices (a new profile, then &lt;b&gt;Link to my other device&lt;/b&gt;).</source>
        <translation>&lt;b&gt;Dieser Computer wurde aus den Geräten von {name} entfernt&lt;/b&gt;, und zwar von einem der anderen. Er sendet und empfängt keine Nachrichten mehr; was er schon hat, bleibt hier lesbar. Um Kith auf diesem Computer wieder zu nutzen, verknüpfe ihn neu von einem deiner anderen Geräte aus (ein neues Profil, dann &lt;b&gt;Mit meinem anderen Gerät verknüpfen&lt;/b&gt;).</translation>
    </message>
    <message>
        <source>them</source>
        <translation>die Person</translation>
    </message>
    <message>
        <source>Trying to reach {name}…</source>
        <translation>Versuche, {name} zu erreichen&#xa0;…</translation>
    </message>
</context>
<context>
    <name>MentionCompleter</name>
    <message>
        <source>Mention someone</source>
        <translation>Jemanden erwähnen</translation>
    </message>
</context>
<context>
    <name>MessageActions</name>
    <message>
        <source>Custom…</source>
        <translation>Benutzerdefiniert&#xa0;…</translation>
    </message>
    <message>
        <source>Emoji</source>
        <translation>Emoji</translation>
    </message>
    <message>
        <source>Disappearing messages: {time}</source>
        <translation>Verschwindende Nachrichten: {time}</translation>
    </message>
    <message>
        <source>Disappearing messages</source>
        <translation>Verschwindende Nachrichten</translation>
    </message>
    <message>
        <source>Messages disappear after (like 30s, 2h, 3d, 2w):</source>
        <translation>Nachrichten verschwinden nach (z. B. 30s, 2h, 3d, 2w):</translation>
    </message>
    <message>
        <source>↩ Replying to yourself: {text}</source>
        <translation>↩ Antwort an dich selbst: {text}</translation>
    </message>
    <message>
        <source>↩ Replying to {name}: {text}</source>
        <translation>↩ Antwort an {name}: {text}</translation>
    </message>
    <message>
        <source>✎ Editing: {text}</source>
        <translation>✎ Bearbeiten: {text}</translation>
    </message>
    <message>
        <source>A different key</source>
        <translation>Ein anderer Schlüssel</translation>
    </message>
    <message>
        <source>You already have a contact called {name} with another key. This card may be someone else. Compare safety numbers in person before you trust it. Send the request anyway?</source>
        <translation>Du hast schon einen Kontakt namens {name} mit einem anderen Schlüssel. Hinter dieser Karte könnte jemand anderes stecken. Vergleicht eure Sicherheitsnummern persönlich, bevor du ihr vertraust. Anfrage trotzdem senden?</translation>
    </message>
    <message>
        <source>Edit history</source>
        <translation>Bearbeitungsverlauf</translation>
    </message>
    <message>
        <source>Original</source>
        <translation>Original</translation>
    </message>
    <message>
        <source>Edit {n}</source>
        <translation>Bearbeitung {n}</translation>
    </message>
    <message>
        <source>The original message is not here any more</source>
        <translation>Die ursprüngliche Nachricht ist nicht mehr da</translation>
    </message>
    <message>
        <source>Reply</source>
        <translation>Antworten</translation>
    </message>
    <message>
        <source>React</source>
        <translation>Reagieren</translation>
    </message>
    <message>
        <source>More…</source>
        <translation>Mehr&#xa0;…</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>Bearbeiten</translation>
    </message>
    <message>
        <source>Send contact request</source>
        <translation>Kontaktanfrage senden</translation>
    </message>
    <message>
        <source>Unsend</source>
        <translation>Für alle löschen</translation>
    </message>
    <message>
        <source>Delete for me</source>
        <translation>Für mich löschen</translation>
    </message>
</context>
<context>
    <name>MessageModel</name>
    <message>
        <source>{date}, {time}</source>
        <translation>{date}, {time}</translation>
    </message>
    <message>
        <source>You</source>
        <translation>Du</translation>
    </message>
    <message>
        <source>Them</source>
        <translation>Kontakt</translation>
    </message>
    <message>
        <source>{who}: {text}</source>
        <translation>{who}: {text}</translation>
    </message>
    <message>
        <source>Read</source>
        <translation>Gelesen</translation>
    </message>
    <message>
        <source>Read {time}</source>
        <translation>Gelesen {time}</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>Zugestellt</translation>
    </message>
    <message>
        <source>Waiting for {name}</source>
        <translation>Warten auf {name}</translation>
    </message>
    <message>
        <source>Waiting for them</source>
        <translation>Warten auf die Person</translation>
    </message>
    <message>
        <source>Sending…</source>
        <translation>Wird gesendet&#xa0;…</translation>
    </message>
</context>
<context>
    <name>NewChatDialog</name>
    <message>
        <source>New message</source>
        <translation>Neue Nachricht</translation>
    </message>
    <message>
        <source>To:</source>
        <translation>An:</translation>
    </message>
    <message>
        <source>Name or user id</source>
        <translation>Name oder Benutzer-ID</translation>
    </message>
    <message>
        <source>People</source>
        <translation>Personen</translation>
    </message>
    <message>
        <source>Connect by address…</source>
        <translation>Über Adresse verbinden&#xa0;…</translation>
    </message>
    <message>
        <source>New group…</source>
        <translation>Neue Gruppe&#xa0;…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>request sent</source>
        <translation>Anfrage gesendet</translation>
    </message>
    <message>
        <source>wants to chat with you</source>
        <translation>möchte mit dir chatten</translation>
    </message>
    <message>
        <source>Unknown</source>
        <translation>Unbekannt</translation>
    </message>
    <message>
        <source>nearby · send a contact request</source>
        <translation>in der Nähe · Kontaktanfrage senden</translation>
    </message>
    <message>
        <source>No contacts yet, and nobody running Kith has shown up on this network. If you know their address, connect by address.</source>
        <translation>Noch keine Kontakte, und in diesem Netzwerk ist noch niemand mit Kith aufgetaucht. Wenn du die Adresse kennst, verbinde dich über die Adresse.</translation>
    </message>
    <message>
        <source>Nobody called “{name}”.</source>
        <translation>Niemand namens „{name}“.</translation>
    </message>
</context>
<context>
    <name>NewGroupDialog</name>
    <message>
        <source>New group</source>
        <translation>Neue Gruppe</translation>
    </message>
    <message>
        <source>Group name</source>
        <translation>Gruppenname</translation>
    </message>
    <message>
        <source>People (your contacts; at most {count}):</source>
        <translation>Personen (deine Kontakte; höchstens {count}):</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Create</source>
        <translation>Erstellen</translation>
    </message>
</context>
<context>
    <name>Notifications</name>
    <message>
        <source>📎 File</source>
        <translation>📎 Datei</translation>
    </message>
    <message>
        <source>New message</source>
        <translation>Neue Nachricht</translation>
    </message>
    <message numerus="yes">
        <source>%n new messages</source>
        <translation>
            <numerusform>%n neue Nachricht</numerusform>
            <numerusform>%n neue Nachrichten</numerusform>
        </translation>
    </message>
    <message>
        <source>wants to chat with you</source>
        <translation>möchte mit dir chatten</translation>
    </message>
</context>
<context>
    <name>Notifier</name>
    <message>
        <source>Kith keeps running here, so you stay online and receive messages. To quit, choose Quit Kith in this icon&apos;s menu, or press Ctrl+Q.</source>
        <translation>Kith läuft hier weiter, damit du online bleibst und Nachrichten empfängst. Zum Beenden wähle „Kith beenden“ im Menü dieses Symbols oder drücke Strg+Q.</translation>
    </message>
    <message>
        <source>Kith is still running</source>
        <translation>Kith läuft noch</translation>
    </message>
    <message>
        <source>Open Kith</source>
        <translation>Kith öffnen</translation>
    </message>
    <message>
        <source>Quit Kith</source>
        <translation>Kith beenden</translation>
    </message>
    <message>
        <source>Kith: {count} unread</source>
        <translation>Kith: {count} ungelesen</translation>
    </message>
</context>
<context>
    <name>PendingFiles</name>
    <message>
        <source>Remove {name}</source>
        <translation>{name} entfernen</translation>
    </message>
</context>
<context>
    <name>PersonRow</name>
    <message>
        <source>key {key} · {note}</source>
        <translation>Schlüssel {key} · {note}</translation>
    </message>
    <message>
        <source>key {key}</source>
        <translation>Schlüssel {key}</translation>
    </message>
</context>
<context>
    <name>PhotoViewer</name>
    <message>
        <source>Previous</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <source>Next</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <source>{name}  ({at} of {n}) · {length}</source>
        <translation>{name}  ({at} von {n}) · {length}</translation>
    </message>
    <message>
        <source>⏸ Pause</source>
        <translation>⏸ Pause</translation>
    </message>
    <message>
        <source>▶ Play</source>
        <translation>▶ Abspielen</translation>
    </message>
    <message>
        <source>▶ Open in the system&apos;s player</source>
        <translation>▶ Im Player des Systems öffnen</translation>
    </message>
    <message>
        <source>{name}  ({at} of {n})</source>
        <translation>{name}  ({at} von {n})</translation>
    </message>
    <message>
        <source>No program here plays this video</source>
        <translation>Kein Programm hier kann dieses Video abspielen</translation>
    </message>
    <message>
        <source>{name}: cannot be played here</source>
        <translation>{name}: kann hier nicht abgespielt werden</translation>
    </message>
    <message>
        <source>This picture cannot be shown</source>
        <translation>Dieses Bild kann nicht angezeigt werden</translation>
    </message>
</context>
<context>
    <name>ProtectionDialog</name>
    <message>
        <source>Protect your history</source>
        <translation>Deinen Verlauf schützen</translation>
    </message>
    <message>
        <source>Kith keeps your history encrypted on this computer. How should its key be kept?</source>
        <translation>Kith speichert deinen Verlauf auf diesem Computer verschlüsselt. Wie soll sein Schlüssel aufbewahrt werden?</translation>
    </message>
    <message>
        <source>In the system keyring (recommended): opens with no prompt</source>
        <translation>Im Schlüsselbund des Systems (empfohlen): öffnet sich ohne Nachfrage</translation>
    </message>
    <message>
        <source>Not available: {reason}</source>
        <translation>Nicht verfügbar: {reason}</translation>
    </message>
    <message>
        <source>With a passphrase, asked each time Kith starts</source>
        <translation>Mit einer Passphrase, die bei jedem Start von Kith abgefragt wird</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Passphrase</translation>
    </message>
    <message>
        <source>The same passphrase again</source>
        <translation>Dieselbe Passphrase noch einmal</translation>
    </message>
    <message>
        <source>No protection (not recommended)</source>
        <translation>Kein Schutz (nicht empfohlen)</translation>
    </message>
    <message>
        <source>&lt;b&gt;Warning:&lt;/b&gt; Without protection the key lies next to your history: anyone who can read this computer&apos;s disk can read your messages.</source>
        <translation>&lt;b&gt;Warnung:&lt;/b&gt; Ohne Schutz liegt der Schlüssel neben deinem Verlauf: Wer die Festplatte dieses Computers lesen kann, kann deine Nachrichten lesen.</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>Weiter</translation>
    </message>
    <message>
        <source>Choose a passphrase.</source>
        <translation>Wähle eine Passphrase.</translation>
    </message>
    <message>
        <source>The two passphrases differ.</source>
        <translation>Die beiden Passphrasen stimmen nicht überein.</translation>
    </message>
</context>
<context>
    <name>ReceiptsDialog</name>
    <message>
        <source>Receipts</source>
        <translation>Bestätigungen</translation>
    </message>
    <message>
        <source>Read</source>
        <translation>Gelesen</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>Zugestellt</translation>
    </message>
    <message>
        <source>Not delivered yet</source>
        <translation>Noch nicht zugestellt</translation>
    </message>
    <message>
        <source>{0} (former member)</source>
        <translation>{0} (ehemaliges Mitglied)</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
</context>
<context>
    <name>RecoveryCodeDialog</name>
    <message>
        <source>Your recovery code</source>
        <translation>Dein Wiederherstellungscode</translation>
    </message>
    <message>
        <source>Write this code down and keep it somewhere safe. If the keyring is lost or you forget your passphrase, it is the only way back into your history. Kith shows it only this once.</source>
        <translation>Schreib diesen Code auf und bewahre ihn sicher auf. Geht der Schlüsselbund verloren oder vergisst du deine Passphrase, ist er der einzige Weg zurück zu deinem Verlauf. Kith zeigt ihn nur dieses eine Mal.</translation>
    </message>
    <message>
        <source>Recovery code</source>
        <translation>Wiederherstellungscode</translation>
    </message>
    <message>
        <source>I have written it down</source>
        <translation>Ich habe ihn aufgeschrieben</translation>
    </message>
</context>
<context>
    <name>Repair</name>
    <message>
        <source>Kith cannot start</source>
        <translation>Kith kann nicht starten</translation>
    </message>
    <message>
        <source>This profile&apos;s database is damaged. Kith did not open it, so nothing more is lost.</source>
        <translation>Die Datenbank dieses Profils ist beschädigt. Kith hat sie nicht geöffnet, damit nichts weiter verloren geht.</translation>
    </message>
    <message>
        <source>Repair rebuilds it from everything that can still be read; what is lost of your conversations comes back from your other devices and your contacts the next time they are online. The damaged file is kept at {copy}.</source>
        <translation>„Reparieren“ baut sie aus allem neu auf, was sich noch lesen lässt; was von deinen Chats verloren ist, kommt von deinen anderen Geräten und deinen Kontakten zurück, sobald sie das nächste Mal online sind. Die beschädigte Datei bleibt unter {copy} erhalten.</translation>
    </message>
    <message>
        <source>Repair</source>
        <translation>Reparieren</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
    <message>
        <source>Kith is running for this profile elsewhere: quit it, then start Kith again</source>
        <translation>Kith läuft für dieses Profil schon an anderer Stelle: beende es und starte Kith dann erneut</translation>
    </message>
    <message>
        <source>Repairing the database…</source>
        <translation>Die Datenbank wird repariert&#xa0;…</translation>
    </message>
    <message>
        <source>The repair failed: {problem}</source>
        <translation>Die Reparatur ist fehlgeschlagen: {problem}</translation>
    </message>
</context>
<context>
    <name>RestoreKeyDialog</name>
    <message>
        <source>Go back to the old key</source>
        <translation>Zum alten Schlüssel zurückkehren</translation>
    </message>
    <message>
        <source>&lt;b&gt;Write to {name}&apos;s old key again?&lt;/b&gt;</source>
        <translation>&lt;b&gt;Wieder an den alten Schlüssel von {name} schreiben?&lt;/b&gt;</translation>
    </message>
    <message>
        <source>You took the key &lt;b&gt;{new}&lt;/b&gt; as {name}&apos;s. If it was someone else, go back to the key &lt;b&gt;{old}&lt;/b&gt;:&lt;ul&gt;&lt;li&gt;this conversation takes your messages again, on all your devices;&lt;/li&gt;&lt;li&gt;the new key is shown as “not the {name} you know” and nothing is sent to it until you compare safety numbers or trust it again;&lt;/li&gt;&lt;li&gt;{name} stays unverified: compare safety numbers to verify again.&lt;/li&gt;&lt;/ul&gt;</source>
        <translation>Du hast den Schlüssel &lt;b&gt;{new}&lt;/b&gt; als den von {name} angenommen. Falls es jemand anderes war, kehre zum Schlüssel &lt;b&gt;{old}&lt;/b&gt; zurück:&lt;ul&gt;&lt;li&gt;Dieser Chat nimmt deine Nachrichten wieder an, auf all deinen Geräten;&lt;/li&gt;&lt;li&gt;der neue Schlüssel wird als „nicht die Person {name}, die du kennst“ angezeigt, und es wird nichts an ihn gesendet, bis ihr eure Sicherheitsnummern vergleicht oder du ihm wieder vertraust;&lt;/li&gt;&lt;li&gt;{name} bleibt unverifiziert: Vergleicht eure Sicherheitsnummern, um erneut zu verifizieren.&lt;/li&gt;&lt;/ul&gt;</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>SasDialog</name>
    <message>
        <source>Verify with emoji</source>
        <translation>Mit Emoji verifizieren</translation>
    </message>
    <message>
        <source>Check that the other screen shows the same emoji, in the same order.</source>
        <translation>Prüfe, ob der andere Bildschirm dieselben Emoji in derselben Reihenfolge zeigt.</translation>
    </message>
    <message>
        <source>They don&apos;t match</source>
        <translation>Sie stimmen nicht überein</translation>
    </message>
    <message>
        <source>They match</source>
        <translation>Sie stimmen überein</translation>
    </message>
</context>
<context>
    <name>SecretDialog</name>
    <message>
        <source>Unlock Kith</source>
        <translation>Kith entsperren</translation>
    </message>
    <message>
        <source>Enter your recovery code (the 32 characters shown when Kith was set up).</source>
        <translation>Gib deinen Wiederherstellungscode ein (die 32 Zeichen, die bei der Einrichtung von Kith angezeigt wurden).</translation>
    </message>
    <message>
        <source>Enter your passphrase to open your history.</source>
        <translation>Gib deine Passphrase ein, um deinen Verlauf zu öffnen.</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation>Passphrase</translation>
    </message>
    <message>
        <source>Recovery code</source>
        <translation>Wiederherstellungscode</translation>
    </message>
    <message>
        <source>XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX</source>
        <translation>XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Entsperren</translation>
    </message>
    <message>
        <source>Forgot it? Use the recovery code…</source>
        <translation>Vergessen? Wiederherstellungscode verwenden&#xa0;…</translation>
    </message>
    <message>
        <source>Checking the recovery code…</source>
        <translation>Wiederherstellungscode wird geprüft&#xa0;…</translation>
    </message>
    <message>
        <source>Checking your passphrase…</source>
        <translation>Deine Passphrase wird geprüft&#xa0;…</translation>
    </message>
    <message>
        <source>{reason} ({count} wrong).</source>
        <translation>{reason} ({count} falsch).</translation>
    </message>
    <message>
        <source>{text} Wait {seconds} s before the next try.</source>
        <translation>{text} Warte {seconds} s bis zum nächsten Versuch.</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>System</source>
        <translation>System</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Hell</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Dunkel</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>What people nearby and your contacts see</source>
        <translation>Was Menschen in der Nähe und deine Kontakte sehen</translation>
    </message>
    <message>
        <source>Display name</source>
        <translation>Anzeigename</translation>
    </message>
    <message>
        <source>Let people on this network see me</source>
        <translation>Für Menschen in diesem Netzwerk sichtbar sein</translation>
    </message>
    <message>
        <source>When off, only your contacts and your own devices can see and reach this computer; you can still add people yourself</source>
        <translation>Wenn aus, können nur deine Kontakte und deine eigenen Geräte diesen Computer sehen und erreichen; du kannst trotzdem selbst Personen hinzufügen</translation>
    </message>
    <message>
        <source>Discoverable</source>
        <translation>Sichtbar</translation>
    </message>
    <message>
        <source>Send read receipts</source>
        <translation>Lesebestätigungen senden</translation>
    </message>
    <message>
        <source>Read receipts</source>
        <translation>Lesebestätigungen</translation>
    </message>
    <message>
        <source>Show when I am typing</source>
        <translation>Anzeigen, wenn ich tippe</translation>
    </message>
    <message>
        <source>Typing indicators</source>
        <translation>Tippindikatoren</translation>
    </message>
    <message>
        <source>Show the message text in notifications</source>
        <translation>Nachrichtentext in Benachrichtigungen anzeigen</translation>
    </message>
    <message>
        <source>When off, a notification names the person only</source>
        <translation>Wenn aus, nennt eine Benachrichtigung nur die Person</translation>
    </message>
    <message>
        <source>Notifications</source>
        <translation>Benachrichtigungen</translation>
    </message>
    <message>
        <source>Play a sound</source>
        <translation>Ton abspielen</translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation>Downloads</translation>
    </message>
    <message>
        <source>You, on all your devices</source>
        <translation>Du, auf all deinen Geräten</translation>
    </message>
    <message>
        <source>These follow to every device linked to you.</source>
        <translation>Diese gelten auf jedem mit dir verknüpften Gerät.</translation>
    </message>
    <message>
        <source>This computer</source>
        <translation>Dieser Computer</translation>
    </message>
    <message>
        <source>Only here.</source>
        <translation>Nur hier.</translation>
    </message>
    <message>
        <source>Networks</source>
        <translation>Netzwerke</translation>
    </message>
    <message>
        <source>Start Kith when I log in, in the tray</source>
        <translation>Kith bei der Anmeldung im Infobereich starten</translation>
    </message>
    <message>
        <source>So that you stay reachable without opening Kith</source>
        <translation>Damit du erreichbar bleibst, ohne Kith zu öffnen</translation>
    </message>
    <message>
        <source>At login</source>
        <translation>Bei der Anmeldung</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Design</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>Takes effect when Kith restarts</source>
        <translation>Gilt nach einem Neustart von Kith</translation>
    </message>
    <message>
        <source>What another device types under Connect by address</source>
        <translation>Was ein anderes Gerät unter „Über Adresse verbinden“ eingibt</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Adresse</translation>
    </message>
    <message>
        <source>My devices…</source>
        <translation>Meine Geräte&#xa0;…</translation>
    </message>
    <message>
        <source>Link another computer to this account, or remove one</source>
        <translation>Einen weiteren Computer mit diesem Konto verknüpfen oder einen entfernen</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <source>Protection</source>
        <translation>Schutz</translation>
    </message>
    <message>
        <source>Cannot change the language: {error}</source>
        <translation>Die Sprache kann nicht geändert werden: {error}</translation>
    </message>
    <message>
        <source>Cannot change the start at login: {error}</source>
        <translation>Der Start bei der Anmeldung kann nicht geändert werden: {error}</translation>
    </message>
</context>
<context>
    <name>Sidebar</name>
    <message>
        <source>Search</source>
        <translation>Suchen</translation>
    </message>
    <message>
        <source>Search (Ctrl+F)</source>
        <translation>Suchen (Strg+F)</translation>
    </message>
    <message>
        <source>Search messages and people</source>
        <translation>Nachrichten und Personen suchen</translation>
    </message>
    <message>
        <source>New message (Ctrl+N)</source>
        <translation>Neue Nachricht (Strg+N)</translation>
    </message>
    <message>
        <source>New message</source>
        <translation>Neue Nachricht</translation>
    </message>
    <message>
        <source>Settings (Ctrl+,)</source>
        <translation>Einstellungen (Strg+,)</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Conversations</source>
        <translation>Chats</translation>
    </message>
    <message>
        <source>No conversations yet.</source>
        <translation>Noch keine Chats.</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>Anfragen</translation>
    </message>
    <message>
        <source>Nearby</source>
        <translation>In der Nähe</translation>
    </message>
    <message>
        <source>Looking for people on this network…</source>
        <translation>Suche nach Menschen in diesem Netzwerk&#xa0;…</translation>
    </message>
    <message>
        <source>Connect by address…</source>
        <translation>Über Adresse verbinden&#xa0;…</translation>
    </message>
    <message>
        <source>Search results</source>
        <translation>Suchergebnisse</translation>
    </message>
    <message>
        <source>⚠ Not the {name} you know: different key</source>
        <translation>⚠ Nicht die Person {name}, die du kennst: anderer Schlüssel</translation>
    </message>
    <message>
        <source>wants to chat with you</source>
        <translation>möchte mit dir chatten</translation>
    </message>
    <message>
        <source>View</source>
        <translation>Ansehen</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Annehmen</translation>
    </message>
    <message>
        <source>Decline</source>
        <translation>Ablehnen</translation>
    </message>
    <message>
        <source>{name}: {note}</source>
        <translation>{name}: {note}</translation>
    </message>
    <message>
        <source>You are hidden from people nearby, and they from you; your contacts still reach you. Turn on Discoverable in Settings to meet someone new.</source>
        <translation>Du bist für Menschen in der Nähe unsichtbar und sie für dich; deine Kontakte erreichen dich weiterhin. Schalte „Sichtbar“ in den Einstellungen ein, um jemand Neues kennenzulernen.</translation>
    </message>
    <message>
        <source>Unknown</source>
        <translation>Unbekannt</translation>
    </message>
    <message>
        <source>⚠ Same name as a contact, different key</source>
        <translation>⚠ Gleicher Name wie ein Kontakt, anderer Schlüssel</translation>
    </message>
    <message>
        <source>on this network</source>
        <translation>in diesem Netzwerk</translation>
    </message>
    <message>
        <source>connected</source>
        <translation>verbunden</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>Hinzufügen</translation>
    </message>
    <message>
        <source>Send {name} a contact request</source>
        <translation>{name} eine Kontaktanfrage senden</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Gesendet</translation>
    </message>
    <message>
        <source>Open the conversation</source>
        <translation>Chat öffnen</translation>
    </message>
    <message>
        <source>{name} · open the conversation</source>
        <translation>{name} · Chat öffnen</translation>
    </message>
    <message>
        <source>No messages or people match “{text}”.</source>
        <translation>Keine Nachrichten oder Personen passen zu „{text}“.</translation>
    </message>
    <message>
        <source>You</source>
        <translation>Du</translation>
    </message>
</context>
<context>
    <name>TransfersDialog</name>
    <message>
        <source> (not sending)</source>
        <translation> (wird nicht gesendet)</translation>
    </message>
    <message>
        <source>Transfers</source>
        <translation>Übertragungen</translation>
    </message>
    <message>
        <source>Nothing is being sent or received.</source>
        <translation>Gerade wird nichts gesendet oder empfangen.</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausieren</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>TrustKeyDialog</name>
    <message>
        <source>A new key for a known name</source>
        <translation>Ein neuer Schlüssel für einen bekannten Namen</translation>
    </message>
    <message>
        <source>&lt;b&gt;Is this really {name}?&lt;/b&gt;</source>
        <translation>&lt;b&gt;Ist das wirklich {name}?&lt;/b&gt;</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <source>Someone with the key &lt;b&gt;{key}&lt;/b&gt; uses the name {name}; the {name} you know has the key &lt;b&gt;{old}&lt;/b&gt;. It may be {name} on a new installation, or someone else using the name.&lt;br&gt;&lt;br&gt;Compare safety numbers with {name} first, in person or on a call you trust. If you take this key as {name}&apos;s:&lt;ul&gt;&lt;li&gt;you write to the new key from then on;&lt;/li&gt;&lt;li&gt;the old conversation stays for its history;&lt;/li&gt;&lt;li&gt;{name} is no longer verified until you compare again.&lt;/li&gt;&lt;/ul&gt;</source>
        <translation>Jemand mit dem Schlüssel &lt;b&gt;{key}&lt;/b&gt; verwendet den Namen {name}; die Person {name}, die du kennst, hat den Schlüssel &lt;b&gt;{old}&lt;/b&gt;. Vielleicht ist es {name} mit einer neuen Installation, vielleicht jemand anderes mit diesem Namen.&lt;br&gt;&lt;br&gt;Vergleiche zuerst eure Sicherheitsnummern mit {name}, persönlich oder in einem Anruf, dem du vertraust. Wenn du diesen Schlüssel als den von {name} annimmst:&lt;ul&gt;&lt;li&gt;schreibst du ab dann an den neuen Schlüssel;&lt;/li&gt;&lt;li&gt;bleibt der alte Chat für den Verlauf erhalten;&lt;/li&gt;&lt;li&gt;ist {name} nicht mehr verifiziert, bis ihr erneut vergleicht.&lt;/li&gt;&lt;/ul&gt;</translation>
    </message>
    <message>
        <source>I know that the {name} I verified has the old key, and I still want the new one</source>
        <translation>Ich weiß, dass die Person {name}, die ich verifiziert habe, den alten Schlüssel hat, und möchte trotzdem den neuen</translation>
    </message>
    <message>
        <source>Use the new key</source>
        <translation>Neuen Schlüssel verwenden</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Compare safety numbers</source>
        <translation>Sicherheitsnummern vergleichen</translation>
    </message>
</context>
<context>
    <name>TypingBubble</name>
    <message>
        <source>typing</source>
        <translation>tippt</translation>
    </message>
</context>
<context>
    <name>Waiting</name>
    <message>
        <source>Waiting</source>
        <translation>Wartet</translation>
    </message>
    <message>
        <source>Waiting to learn where this device&apos;s history ends — it is sent when one of your devices or {name} is back</source>
        <translation>Wartet darauf, zu erfahren, wo der Verlauf dieses Geräts endet – die Nachricht wird gesendet, sobald eines deiner Geräte oder {name} wieder da ist</translation>
    </message>
    <message>
        <source>Waiting to learn where this device&apos;s history ends — it is sent when one of your devices or a member of the group is back</source>
        <translation>Wartet darauf, zu erfahren, wo der Verlauf dieses Geräts endet – die Nachricht wird gesendet, sobald eines deiner Geräte oder ein Mitglied der Gruppe wieder da ist</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Hello, {name}!</source>
        <translation>Hallo, {name}!</translation>
    </message>
    <message>
        <source>Choose a conversation on the left, or start one with &lt;b&gt;✎&lt;/b&gt; (Ctrl+N). People running Kith on this network are listed under &lt;b&gt;Nearby&lt;/b&gt;.</source>
        <translation>Wähle links einen Chat oder beginne einen mit &lt;b&gt;✎&lt;/b&gt; (Strg+N). Menschen mit Kith in diesem Netzwerk stehen unter &lt;b&gt;In der Nähe&lt;/b&gt;.</translation>
    </message>
    <message>
        <source>Kith talks directly to people on your network: no server, no account.&lt;br&gt;&lt;br&gt;&lt;b&gt;1.&lt;/b&gt; People running Kith nearby appear under &lt;b&gt;Nearby&lt;/b&gt; on the left.&lt;br&gt;&lt;b&gt;2.&lt;/b&gt; Click &lt;b&gt;Add&lt;/b&gt; (or &lt;b&gt;✎&lt;/b&gt;, Ctrl+N) to send a contact request; they accept on their side.&lt;br&gt;&lt;b&gt;3.&lt;/b&gt; Open the conversation and say hello. Compare safety numbers under &lt;b&gt;Contact info&lt;/b&gt; to be sure who you talk to.&lt;br&gt;&lt;br&gt;Someone not showing up? Use &lt;b&gt;Connect by address…&lt;/b&gt;: it shows this computer&apos;s address, and theirs shows in their Kith.</source>
        <translation>Kith spricht direkt mit Menschen in deinem Netzwerk: kein Server, kein Konto.&lt;br&gt;&lt;br&gt;&lt;b&gt;1.&lt;/b&gt; Menschen mit Kith in der Nähe erscheinen links unter &lt;b&gt;In der Nähe&lt;/b&gt;.&lt;br&gt;&lt;b&gt;2.&lt;/b&gt; Klicke auf &lt;b&gt;Hinzufügen&lt;/b&gt; (oder &lt;b&gt;✎&lt;/b&gt;, Strg+N), um eine Kontaktanfrage zu senden; die andere Person nimmt sie auf ihrer Seite an.&lt;br&gt;&lt;b&gt;3.&lt;/b&gt; Öffne den Chat und sag hallo. Vergleicht eure Sicherheitsnummern unter &lt;b&gt;Kontaktinfo&lt;/b&gt;, um sicher zu sein, mit wem du sprichst.&lt;br&gt;&lt;br&gt;Jemand taucht nicht auf? Nutze &lt;b&gt;Über Adresse verbinden&#xa0;…&lt;/b&gt;: Dort steht die Adresse dieses Computers, und die der anderen Person steht in ihrem Kith.</translation>
    </message>
    <message>
        <source>You are {name} ({id}), listening on port {port}.</source>
        <translation>Du bist {name} ({id}), empfangsbereit auf Port {port}.</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>Kith cannot start</source>
        <translation>Kith kann nicht starten</translation>
    </message>
</context>
<context>
    <name>devices</name>
    <message>
        <source>No new device showing this code was found on this network. Check the code, and that the new computer still shows it (Link to my other device).</source>
        <translation>In diesem Netzwerk wurde kein neues Gerät mit diesem Code gefunden. Prüfe den Code und ob der neue Computer ihn noch anzeigt (Mit meinem anderen Gerät verknüpfen).</translation>
    </message>
    <message>
        <source>Several new devices show this code. On the new computer, choose Link to my other device again for a new code.</source>
        <translation>Mehrere neue Geräte zeigen diesen Code. Wähle auf dem neuen Computer erneut „Mit meinem anderen Gerät verknüpfen“, um einen neuen Code zu erhalten.</translation>
    </message>
    <message>
        <source>Link to my other device</source>
        <translation>Mit meinem anderen Gerät verknüpfen</translation>
    </message>
    <message>
        <source>removed</source>
        <translation>entfernt</translation>
    </message>
    <message>
        <source>this device</source>
        <translation>dieses Gerät</translation>
    </message>
    <message>
        <source>online</source>
        <translation>online</translation>
    </message>
    <message>
        <source>last seen {when}</source>
        <translation>zuletzt gesehen {when}</translation>
    </message>
    <message>
        <source>not seen yet</source>
        <translation>noch nicht gesehen</translation>
    </message>
</context>
<context>
    <name>groupinfo</name>
    <message>
        <source>Owner</source>
        <translation>Inhaber</translation>
    </message>
    <message>
        <source>Admin</source>
        <translation>Admin</translation>
    </message>
    <message>
        <source>{name} (you)</source>
        <translation>{name} (du)</translation>
    </message>
    <message>
        <source>verified ✔</source>
        <translation>verifiziert ✔</translation>
    </message>
    <message>
        <source>not a contact</source>
        <translation>kein Kontakt</translation>
    </message>
    <message>
        <source>not verified</source>
        <translation>nicht verifiziert</translation>
    </message>
</context>
<context>
    <name>groups</name>
    <message>
        <source>You</source>
        <translation>Du</translation>
    </message>
    <message>
        <source>1 member: {names}</source>
        <translation>1 Mitglied: {names}</translation>
    </message>
    <message>
        <source>{count} members: {names}</source>
        <translation>{count} Mitglieder: {names}</translation>
    </message>
    <message>
        <source>Group info</source>
        <translation>Gruppeninfo</translation>
    </message>
    <message>
        <source>Members, roles, add or remove people, rename, leave</source>
        <translation>Mitglieder, Rollen, Personen hinzufügen oder entfernen, umbenennen, verlassen</translation>
    </message>
    <message>
        <source>Message {name}</source>
        <translation>Nachricht an {name}</translation>
    </message>
    <message>
        <source>You are no longer in this group</source>
        <translation>Du bist nicht mehr in dieser Gruppe</translation>
    </message>
    <message>
        <source>Read</source>
        <translation>Gelesen</translation>
    </message>
    <message>
        <source>Read by {0} of {1}</source>
        <translation>Gelesen: {0} von {1}</translation>
    </message>
    <message>
        <source>Receipts…</source>
        <translation>Bestätigungen&#xa0;…</translation>
    </message>
    <message>
        <source>{0} is typing…</source>
        <translation>{0} tippt&#xa0;…</translation>
    </message>
    <message>
        <source>{0} and {1} are typing…</source>
        <translation>{0} und {1} tippen&#xa0;…</translation>
    </message>
    <message>
        <source>Several people are typing…</source>
        <translation>Mehrere Personen tippen&#xa0;…</translation>
    </message>
    <message>
        <source>{0} in {1}</source>
        <translation>{0} in {1}</translation>
    </message>
</context>
<context>
    <name>netifs</name>
    <message>
        <source> (this computer only)</source>
        <translation> (nur dieser Computer)</translation>
    </message>
    <message>
        <source>The network interface chosen in Settings is not connected: {names}. Kith uses the others you chose.</source>
        <translation>Die in den Einstellungen gewählte Netzwerkschnittstelle ist nicht verbunden: {names}. Kith verwendet die anderen, die du gewählt hast.</translation>
    </message>
    <message>
        <source>None of the network interfaces chosen in Settings is connected ({names}), so nobody on a network can reach you. Choose another one under Settings → Network interfaces, or allow all networks.</source>
        <translation>Keine der in den Einstellungen gewählten Netzwerkschnittstellen ist verbunden ({names}), daher kann dich niemand in einem Netzwerk erreichen. Wähle unter Einstellungen → Netzwerkschnittstellen eine andere oder erlaube alle Netzwerke.</translation>
    </message>
</context>
<context>
    <name>timefmt</name>
    <message>
        <source>{date}, {time}</source>
        <translation>{date}, {time}</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>Gestern</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>Heute</translation>
    </message>
    <message>
        <source>{day} {time}</source>
        <translation>{day} {time}</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>1 week</source>
        <translation>1 Woche</translation>
    </message>
    <message>
        <source>{n} weeks</source>
        <translation>{n} Wochen</translation>
    </message>
    <message>
        <source>1 day</source>
        <translation>1 Tag</translation>
    </message>
    <message>
        <source>{n} days</source>
        <translation>{n} Tage</translation>
    </message>
    <message>
        <source>1 hour</source>
        <translation>1 Stunde</translation>
    </message>
    <message>
        <source>{n} hours</source>
        <translation>{n} Stunden</translation>
    </message>
    <message>
        <source>1 minute</source>
        <translation>1 Minute</translation>
    </message>
    <message>
        <source>{n} minutes</source>
        <translation>{n} Minuten</translation>
    </message>
    <message>
        <source>1 second</source>
        <translation>1 Sekunde</translation>
    </message>
    <message>
        <source>{n} seconds</source>
        <translation>{n} Sekunden</translation>
    </message>
</context>
<context>
    <name>timer_lines</name>
    <message>
        <source>You turned off disappearing messages</source>
        <translation>Du hast verschwindende Nachrichten ausgeschaltet</translation>
    </message>
    <message>
        <source>You set disappearing messages to {time}</source>
        <translation>Du hast verschwindende Nachrichten auf {time} gestellt</translation>
    </message>
    <message>
        <source>Someone</source>
        <translation>Jemand</translation>
    </message>
    <message>
        <source>{name} turned off disappearing messages</source>
        <translation>{name} hat verschwindende Nachrichten ausgeschaltet</translation>
    </message>
    <message>
        <source>{name} set disappearing messages to {time}</source>
        <translation>{name} hat verschwindende Nachrichten auf {time} gestellt</translation>
    </message>
</context>
<context>
    <name>transfers</name>
    <message>
        <source>{arrow} {name}  {have} of {size}</source>
        <translation>{arrow} {name}  {have} von {size}</translation>
    </message>
    <message>
        <source>{seconds} s left</source>
        <translation>noch {seconds} s</translation>
    </message>
    <message>
        <source>paused: {problem}</source>
        <translation>angehalten: {problem}</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <source>from {name}</source>
        <translation>von {name}</translation>
    </message>
    <message>
        <source>to {name}</source>
        <translation>an {name}</translation>
    </message>
</context>
<context>
    <name>trust</name>
    <message>
        <source>✔ Verified: you compared the safety number.</source>
        <translation>✔ Verifiziert: Ihr habt die Sicherheitsnummer verglichen.</translation>
    </message>
    <message>
        <source>✔ Verified: you compared the 7 emoji.</source>
        <translation>✔ Verifiziert: Ihr habt die 7 Emoji verglichen.</translation>
    </message>
    <message>
        <source>✔ Verified (on another of your devices or with the command line).</source>
        <translation>✔ Verifiziert (auf einem deiner anderen Geräte oder über die Kommandozeile).</translation>
    </message>
</context>
<context>
    <name>trustlog</name>
    <message>
        <source>⚠ A different key than the {name} you know</source>
        <translation>⚠ Ein anderer Schlüssel als der der Person {name}, die du kennst</translation>
    </message>
    <message>
        <source>⚠ {name}&apos;s key is not the one you know: it may be someone else</source>
        <translation>⚠ Der Schlüssel von {name} ist nicht der, den du kennst: Es könnte jemand anderes sein</translation>
    </message>
    <message>
        <source>You accepted this key as {name}&apos;s</source>
        <translation>Du hast diesen Schlüssel als den von {name} angenommen</translation>
    </message>
    <message>
        <source>You took a new key as {name}&apos;s: this old one takes no new messages</source>
        <translation>Du hast einen neuen Schlüssel als den von {name} angenommen: Dieser alte nimmt keine neuen Nachrichten mehr an</translation>
    </message>
    <message>
        <source>✔ You marked {name} as verified (safety number compared)</source>
        <translation>✔ Du hast {name} als verifiziert markiert (Sicherheitsnummer verglichen)</translation>
    </message>
    <message>
        <source>✔ You marked {name} as verified (emoji compared)</source>
        <translation>✔ Du hast {name} als verifiziert markiert (Emoji verglichen)</translation>
    </message>
    <message>
        <source>✔ You marked {name} as verified</source>
        <translation>✔ Du hast {name} als verifiziert markiert</translation>
    </message>
    <message>
        <source>{name} is no longer verified</source>
        <translation>{name} ist nicht mehr verifiziert</translation>
    </message>
</context>
<context>
    <name>unlock</name>
    <message>
        <source>Your history is open again. How should its key be kept from now on?</source>
        <translation>Dein Verlauf ist wieder offen. Wie soll sein Schlüssel ab jetzt aufbewahrt werden?</translation>
    </message>
    <message>
        <source>This version of Kith keeps your history encrypted on this computer. How should its key be kept?</source>
        <translation>Diese Version von Kith speichert deinen Verlauf auf diesem Computer verschlüsselt. Wie soll sein Schlüssel aufbewahrt werden?</translation>
    </message>
    <message>
        <source>Encrypting your history…</source>
        <translation>Dein Verlauf wird verschlüsselt&#xa0;…</translation>
    </message>
    <message>
        <source>Encrypting your files…</source>
        <translation>Deine Dateien werden verschlüsselt&#xa0;…</translation>
    </message>
    <message>
        <source>Encrypting your files… ({done} of {count})</source>
        <translation>Deine Dateien werden verschlüsselt&#xa0;… ({done} von {count})</translation>
    </message>
    <message>
        <source>Your history is encrypted the next time Kith starts.</source>
        <translation>Dein Verlauf wird beim nächsten Start von Kith verschlüsselt.</translation>
    </message>
    <message>
        <source>How should the key of your history be kept?</source>
        <translation>Wie soll der Schlüssel deines Verlaufs aufbewahrt werden?</translation>
    </message>
    <message>
        <source>Change protection…</source>
        <translation>Schutz ändern&#xa0;…</translation>
    </message>
    <message>
        <source>How the key of your encrypted history is kept: keyring, passphrase or none</source>
        <translation>Wie der Schlüssel deines verschlüsselten Verlaufs aufbewahrt wird: Schlüsselbund, Passphrase oder gar nicht</translation>
    </message>
</context>
</TS>
