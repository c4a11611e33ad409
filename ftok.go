package msgq

// Ftok returns the key glibc's ftok(3) gives for the file at path and
// projID: the low 16 bits of the file's inode number, the low 8 bits of its
// device number and the 8 bits of projID, as
//
//	key = (ino & 0xffff) | (dev & 0xff) << 16 | projID << 24
//
// Like ftok it follows symbolic links. If the file cannot be examined it
// returns -1 and the error from stat (errors.Is(err, syscall.ENOENT) for a
// missing file, say); on systems without inode numbers it returns -1 and
// errors.ErrUnsupported.
func Ftok(path string, projID byte) (Key, error) {
	ino, dev, err := fileID(path)
	if err != nil {
		return -1, err
	}
	return Key(int32(uint32(ino&0xffff) | uint32(dev&0xff)<<16 | uint32(projID)<<24)), nil
}
