; Inno Setup 6 script: the Windows installer of LM Scales.
; packaging/build.py runs it after PyInstaller:
;   ISCC.exe /DAppVersion=0.1.0 /DBundleDir=<repo>\dist\lmscales /DOutputDir=<repo>\dist packaging\windows\lmscales.iss
; It installs the one-folder bundle for the current user (no administrator rights needed; an administrator may
; choose "all users"), adds a Start menu entry (and optionally a desktop one), and registers an uninstaller.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\lmscales"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
; Never change AppId: it is how Windows recognises later versions as updates of this one.
AppId={{131627D4-E16F-45A4-B9D1-6750D34E3397}
AppName=LM Scales
AppVersion={#AppVersion}
AppVerName=LM Scales {#AppVersion}
AppPublisher=The LM Scales contributors
AppCopyright=Copyright (C) The LM Scales contributors
DefaultDirName={autopf}\LM Scales
DefaultGroupName=LM Scales
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=LM-Scales-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\lmscales.ico
UninstallDisplayIcon={app}\LM Scales.exe
UninstallDisplayName=LM Scales
WizardStyle=modern
; The quantised model barely compresses; lzma2 still shrinks the libraries, and solid compression helps.
Compression=lzma2
SolidCompression=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Excludes: "*.verified"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\LM Scales"; Filename: "{app}\LM Scales.exe"; Comment: "A small language model beside a large one"
Name: "{autodesktop}\LM Scales"; Filename: "{app}\LM Scales.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\LM Scales.exe"; Description: "{cm:LaunchProgram,LM Scales}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; The app leaves a verification stamp beside the model (and Python may leave caches); remove what it wrote.
Type: files; Name: "{app}\_internal\models\*.verified"
Type: dirifempty; Name: "{app}\_internal\models"
Type: dirifempty; Name: "{app}\_internal"
Type: dirifempty; Name: "{app}"
